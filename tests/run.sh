#!/bin/sh
# The whole test suite on a fresh Debian (or Ubuntu) machine with Rust:
# installs the system packages the tests use, then runs `cargo test --locked`.
# Extra arguments go to cargo test (e.g. tests/run.sh --test it hardening).
#
# The tests start real servers and tools on loopback and in temporary roots:
#   iproute2       ip, ss: network namespaces and veth pairs (ipw, miiw)
#   mount          mount, umount, losetup: loop devices, tmpfs (diskw, full log directory)
#   util-linux     setpriv: attacks run as the user nobody
#   e2fsprogs      mkfs.ext4 (diskw on a loop device)
#   openssl        certificates for the HTTPS server httpw watches
#   python3        HTTP servers, the demo application, the lock-everything attacker
#   procps         pgrep, pkill
#   nginx-light    the nginx example
#   faketime       wall-clock jumps under a running clpd
#   corosync       clusters of 2 and 3 servers in network namespaces; corosync -t
#                  checks the corosync.conf clpcfctrl derives
#   lib*-dev       Corosync's client libraries, which clpd links (build)
# Tests that need root (mounts, nobody, namespaces) say "skipped" when run by
# another user; CI runs them all as root.
set -eu
cd "$(dirname "$0")/.."

packages="iproute2 mount util-linux e2fsprogs openssl python3 procps nginx-light faketime corosync
    libcpg-dev libquorum-dev libvotequorum-dev libcmap-dev libcfg-dev"

missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" -eq 0 ]; then
        as_root=""
    elif command -v sudo >/dev/null 2>&1; then
        as_root="sudo"
    else
        echo "tests/run.sh: these packages are missing:$missing; install them as root" >&2
        exit 1
    fi
    echo "tests/run.sh: installing$missing"
    $as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # shellcheck disable=SC2086 # one word per package
    $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

exec cargo test --locked "$@"
