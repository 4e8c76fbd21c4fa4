#!/usr/bin/env bash
# Install La Station's Python packages into a venv where no package replaces another.
# Usage: scripts/install-python-packages.sh VENV PYTHON REQUIREMENT
#   e.g. scripts/install-python-packages.sh .venv python3 '.[edge,server,dev]'
#
# Why: niquests (pulled by grafana-client and caldav) needs urllib3-future. Its PyPI
# wheel also ships a `urllib3` package and a `urllib3_future.pth` startup hook that
# copies the fork over upstream urllib3 at every interpreter start, so the install
# order does not help: requests, influxdb-client and the Schemathesis CLI end up on
# the fork. Built from its source distribution with URLLIB3_NO_OVERRIDE set (the
# escape hatch urllib3-future documents), it installs only `urllib3_future`, which is
# what niquests imports when upstream urllib3 holds the name.
#
# Idempotent: on a venv that already has the right packages pip changes nothing; a
# venv set up before this (urllib3-future holding `urllib3`) is repaired.
set -euo pipefail
venv=$1 python=$2 requirement=$3

test -x "$venv/bin/python" || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip)
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')

# urllib3-future is installed as the drop-in wheel: its files claim the `urllib3` name.
drop_in() {
    local record
    for record in "$site"/urllib3_future-*.dist-info/RECORD; do
        [ -f "$record" ] && grep -qE '^(urllib3/|urllib3_future\.pth,)' "$record" && return 0
    done
    return 1
}

# Remove both distributions and what the startup hook left in urllib3/ (files no RECORD
# lists), so the next install puts each back in its own directory.
separate() {
    echo "urllib3-future holds the urllib3 name in $venv: reinstalling urllib3 and urllib3-future apart"
    "${pip[@]}" uninstall -q -y urllib3-future urllib3
    rm -rf "$site/urllib3"
}

install() {
    URLLIB3_NO_OVERRIDE=true "${pip[@]}" install -q --no-binary urllib3-future "$@" \
        -e "$requirement" --config-settings editable_mode=compat
}

"${pip[@]}" install -q --upgrade pip
if drop_in; then separate; fi
install
# pip reuses a wheel it built earlier from the same source, whatever the environment
# was then: if that one was a drop-in build, build it again outside the cache.
if drop_in; then
    separate
    install --no-cache-dir
fi
if drop_in; then
    echo "urllib3-future still installs a urllib3 package in $venv; see README.md (setup)" >&2
    exit 1
fi
