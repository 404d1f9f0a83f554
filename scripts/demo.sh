#!/usr/bin/env bash
# Install, then generate a sample round with keys in ./demo and run it end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/wachtlijst demo --dir demo
