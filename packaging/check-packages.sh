#!/usr/bin/env bash
# Checks the packages in DIR: the .deb is unpacked into a scratch root and its
# programs run from there; the .rpm's file list is compared with the .deb's.
set -euo pipefail
dir=${1:-target/packages}
deb=$(ls "$dir"/*.deb)
rpm=$(ls "$dir"/*.rpm)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

echo "== $deb"
dpkg-deb -I "$deb" | sed -n '1,20p'
dpkg-deb -x "$deb" "$scratch/pkg"
for f in usr/sbin/clpd usr/sbin/clpstat usr/sbin/clpcfctrl usr/lib/systemd/system/clp.service usr/lib/systemd/system/clp-corosync.service usr/lib/systemd/system/clp-qdevice.service \
         usr/share/man/man8/clpd.8.gz usr/share/man/man5/clp.conf.5.gz \
         usr/share/bash-completion/completions/clpstat etc/clp/sample/clp.conf; do
    [ -e "$scratch/pkg/$f" ] || { echo "missing from the .deb: /$f"; exit 1; }
done
dpkg-deb -I "$deb" conffiles | grep -qx /etc/clp/sample/clp.conf || { echo "sample config is not a conffile"; exit 1; }
# The REST API's PAM service: Debian's common stacks, kept as a conffile.
grep -qx '@include common-auth' "$scratch/pkg/etc/pam.d/clp" || { echo "the .deb's /etc/pam.d/clp does not include common-auth"; exit 1; }
dpkg-deb -I "$deb" conffiles | grep -qx /etc/pam.d/clp || { echo "/etc/pam.d/clp is not a conffile"; exit 1; }
grep -q '^Type=notify' "$scratch/pkg/usr/lib/systemd/system/clp.service"
# A cluster of several servers needs Corosync and clpd links its client libraries.
dpkg-deb -f "$deb" Depends | grep -q 'corosync' || { echo "the .deb does not depend on corosync"; exit 1; }
dpkg-deb -f "$deb" Depends | grep -q 'libcpg' || { echo "the .deb does not depend on libcpg"; exit 1; }

# Every program reports the same version as clpd.
want=$("$scratch/pkg/usr/sbin/clpd" --version | awk '{print $2}')
for prog in "$scratch"/pkg/usr/sbin/clp*; do
    got=$("$prog" --version | awk '{print $2}')
    [ "$got" = "$want" ] || { echo "$(basename "$prog") --version says $got, clpd says $want"; exit 1; }
done
echo "all programs report version $want"

# The installed tree works: the shipped sample validates (server "localhost").
CLP_ROOT="$scratch/root" CLP_HOSTNAME=localhost \
    "$scratch/pkg/usr/sbin/clpcfctrl" --check -x "$scratch/pkg/etc/clp/sample"
"$scratch/pkg/usr/sbin/clpstat" --version

echo "== $rpm"
ls -l "$rpm"
if command -v rpm >/dev/null 2>&1; then
    rpm -qp --scripts "$rpm" | head -3
    rpm -qpR "$rpm" | grep -q '^corosync' || { echo "the .rpm does not require corosync"; exit 1; }
    # The REST API's PAM service: RHEL's password-auth (its "other" refuses
    # everyone), a config file; the packed file is packaging/pam/clp.rhel.
    rpm -qpc "$rpm" | grep -qx /etc/pam.d/clp || { echo "/etc/pam.d/clp is not a config file of the .rpm"; exit 1; }
    packed=$(rpm -qp --dump "$rpm" | awk '$1 == "/etc/pam.d/clp" {print $4}')
    [ "$packed" = "$(sha256sum < packaging/pam/clp.rhel | cut -d' ' -f1)" ] || { echo "the .rpm's /etc/pam.d/clp is not packaging/pam/clp.rhel"; exit 1; }
    # cargo-deb gzips man pages and adds a copyright file; cargo-generate-rpm does not.
    diff <(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print substr($6, 2)}' | sed 's/\.gz$//' | grep -v '/doc/clp/copyright$' | sort) \
         <(rpm -qpl "$rpm" | sort) && echo ".deb and .rpm ship the same files"
fi
