#!/usr/bin/env bash
# Install, lint, type-check and run the test suite (with headless Chromium for the HTML reports).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
bash scripts/install-browser.sh
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/pytest -q
