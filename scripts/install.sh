#!/usr/bin/env bash
# Create .venv and install wachtlijst with its test tools (uses uv when it can, else pip).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip uv
.venv/bin/python -m uv pip install --quiet --python .venv/bin/python -e '.[test]'
