#!/usr/bin/env bash
# Install Debian's Chromium and ChromeDriver for the browser tests of the HTML reports,
# when they are missing and this user can install Debian packages. Otherwise say so; the
# browser tests then skip (or fail, under WACHTLIJST_REQUIRE_BROWSER=1 as in CI).
set -euo pipefail
if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    exit 0
fi
if command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium chromium-driver >/dev/null
elif command -v apt-get >/dev/null && sudo -n true 2>/dev/null; then
    sudo -n env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
else
    echo "note: chromium and chromium-driver are not installed; the browser tests will be skipped" >&2
fi
