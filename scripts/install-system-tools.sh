#!/usr/bin/env bash
# Install the Debian packages the tests drive for real: Chromium and ChromeDriver (browser tests
# of the HTML reports) and age (a provider opens its package with it, no Python needed), when
# they are missing and this user can install Debian packages. Otherwise say so; those tests then
# skip (or fail, under WACHTLIJST_REQUIRE_BROWSER=1 / WACHTLIJST_REQUIRE_AGE=1 as in CI).
set -euo pipefail
missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -x /usr/bin/chromedriver ]] || missing+=(chromium-driver)
command -v age >/dev/null || missing+=(age)
if [[ ${#missing[@]} == 0 ]]; then
    exit 0
fi
if command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
elif command -v apt-get >/dev/null && sudo -n true 2>/dev/null; then
    sudo -n env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "note: ${missing[*]} not installed; the tests that need them will be skipped" >&2
fi
