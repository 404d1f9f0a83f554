#!/usr/bin/env bash
# Create .venv and install wachtlijst with its test tools (uses uv when it can, else pip).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip uv
# --compile-bytecode: where PYTHONDONTWRITEBYTECODE is set (as on our CI machines) no .pyc is ever
# written, and every process (the round, Prefect's server, each reader worker) would compile
# Prefect from source again: about 10 s per command (benchmarks in README, "Start-up").
# requirements.lock pins every package to the versions the suite passed with (scripts/lock.sh).
.venv/bin/python -m uv pip install --quiet --python .venv/bin/python --compile-bytecode -c requirements.lock -e '.[test,bench]'
