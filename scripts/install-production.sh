#!/usr/bin/env bash
# Install wachtlijst for a TTP's server: a virtual environment of its own under PREFIX/lib/wachtlijst
# with the runtime dependencies only (no test tools, not editable: a later checkout does not change
# what runs), and the command on the PATH as PREFIX/bin/wachtlijst. Also installs Debian's age when
# it can (operators use it to check a package as a provider would).
#   sudo bash scripts/install-production.sh              # PREFIX=/usr/local
#   bash scripts/install-production.sh --prefix ~/.local # one user, no root
set -euo pipefail
prefix=/usr/local
while [[ $# -gt 0 ]]; do
    case "$1" in
        --prefix) prefix="$2"; shift 2 ;;
        -h|--help) sed -n 2,8p "$0"; exit 0 ;;
        *) echo "unknown option: $1 (use --prefix DIR)" >&2; exit 2 ;;
    esac
done
source_dir="$(cd "$(dirname "$0")/.." && pwd)"
venv="$prefix/lib/wachtlijst"
mkdir -p "$prefix/bin" "$prefix/lib"
python3 -m venv --clear "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip uv
# Built from a clean copy of this checkout (setuptools would leave build/ in it, and a stale build/
# can carry a deleted module into the next install), so that the installed files are a copy with
# their package data.
copy="$(mktemp -d)"
trap 'rm -rf "$copy"' EXIT
tar -C "$source_dir" --exclude=./.venv --exclude=./.git --exclude=./build --exclude=./demo \
    --exclude=./test-artifacts --exclude='*.egg-info' -cf - . | tar -C "$copy" -xf -
"$venv/bin/python" -m uv pip install --quiet --python "$venv/bin/python" --compile-bytecode \
    -c "$copy/requirements.lock" "$copy"
ln -sf "$venv/bin/wachtlijst" "$prefix/bin/wachtlijst"
if ! command -v age >/dev/null && command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq age >/dev/null || true
fi
"$venv/bin/wachtlijst" --help >/dev/null
echo "installed: $prefix/bin/wachtlijst"
case ":$PATH:" in
    *":$prefix/bin:"*) ;;
    *) echo "note: $prefix/bin is not on your PATH; add it, for example: export PATH=\"$prefix/bin:\$PATH\"" ;;
esac
