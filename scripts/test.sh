#!/usr/bin/env bash
# Install, lint, type-check and run the test suite (with headless Chromium for the HTML reports and the age command).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
bash scripts/install-system-tools.sh
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/mypy --strict hashing ingest linkage reports  # the pure core: strict
.venv/bin/pytest -q -n auto --durations=15  # one worker per core; the slowest tests listed for whoever makes the suite faster
