#!/usr/bin/env bash
# Resolve pyproject.toml's dependencies (with the test and bench extras) for Python 3.11 into
# requirements.lock: every package pinned, so that CI, developers and servers install the versions
# the suite passed with. Run after changing a dependency; tests/test_lock.py checks the two agree.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m uv pip compile pyproject.toml --extra test --extra bench --python-version 3.11 --quiet \
    --custom-compile-command "bash scripts/lock.sh" -o requirements.lock
