#!/bin/sh
# need-packages.sh WHO PACKAGE...: installs (apt-get, as root or through sudo)
# the Debian packages of the list that are not installed yet; WHO names the
# caller in what it says. Shared by the README's two first commands
# (examples/demo/start-demo.sh, tests/run.sh).
set -eu
who=$1
shift
missing=""
for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -n "$missing" ] || exit 0
if [ "$(id -u)" -eq 0 ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1; then
    as_root="sudo"
else
    echo "$who: these packages are missing:$missing; install them as root (apt-get install$missing)" >&2
    exit 1
fi
echo "$who: installing$missing"
$as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086 # one word per package
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
