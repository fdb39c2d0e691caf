#!/bin/sh
# The whole test suite on a fresh Debian (or Ubuntu) machine with Rust:
# installs the system packages the tests use, then runs `cargo test --locked`.
# Extra arguments go to cargo test (e.g. tests/run.sh --test it hardening).
#
# The tests start real servers and tools on loopback and in temporary roots:
#   iproute2       ip, ss: network namespaces and veth pairs (ipw, miiw, fip)
#   mount          mount, umount, losetup: loop devices, tmpfs (diskw, full log directory)
#   util-linux     setpriv: attacks run as the user nobody; nsenter: clpd in a
#                  network namespace of the test's own (fip)
#   e2fsprogs      mkfs.ext4 (diskw on a loop device)
#   openssl        certificates for the HTTPS server httpw watches
#   python3        HTTP servers, the demo application, the lock-everything attacker
#   python3-aiosmtpd  the SMTP server alert mails go to (plain, STARTTLS, TLS, AUTH)
#   procps         pgrep, pkill
#   nginx-light    the nginx example; the two-server web service (cluster::observer)
#   faketime       wall-clock jumps under a running clpd
#   postgresql-15, mariadb-server  the servers psqlw and mysqlw watch (started
#                  by the tests in temporary directories, on loopback)
#   corosync       clusters of 2 and 3 servers in network namespaces; corosync -t
#                  checks the corosync.conf clpcfctrl derives
#   chromium       headless, driven over its DevTools pipe: the status page at /
#   corosync-qdevice corosync-qnetd libnss3-tools  the witness of the partition trials
#                  (qnetd on a host of the rig, qdevice per server, TLS certificates)
#   lib*-dev       Corosync's client libraries and PAM's, which clpd links (build)
# Debian starts the services of postgresql-15, mariadb-server and corosync-qnetd
# when it installs them; the tests start their own servers and do not use those
# (`systemctl disable --now postgresql mariadb corosync-qnetd` if unwanted).
# Tests that need root (mounts, nobody, namespaces) say "skipped" when run by
# another user; CI runs them all as root.
set -eu
cd "$(dirname "$0")/.."

packages="iproute2 mount util-linux e2fsprogs openssl python3 python3-aiosmtpd procps nginx-light faketime corosync chromium
    postgresql-15 mariadb-server
    corosync-qdevice corosync-qnetd libnss3-tools
    libcpg-dev libquorum-dev libvotequorum-dev libcmap-dev libcfg-dev libpam0g-dev"

# shellcheck disable=SC2086 # one word per package
sh tests/need-packages.sh tests/run.sh $packages

exec cargo test --locked "$@"
