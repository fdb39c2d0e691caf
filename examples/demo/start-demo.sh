#!/bin/sh
# Builds clp and starts the demo supervisor, unprivileged, under a project-local
# root (target/demo-root): an exec group serving HTTP on 127.0.0.1:8080.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
# System packages: Corosync's client libraries, which clpd links (a cluster of
# several servers runs on Corosync), and Python, whose HTTP server is the demo
# application.
packages="python3 libcpg-dev libquorum-dev libvotequorum-dev libcmap-dev libcfg-dev libpam0g-dev"
# shellcheck disable=SC2086 # one word per package
sh "$repo/tests/need-packages.sh" start-demo.sh $packages
cargo build --release --quiet --bin clpd --bin clpcl --bin clpstat --bin clpgrp --bin clprsc --bin clpcfctrl
bin="$repo/target/release"
export CLP_ROOT="$repo/target/demo-root" CLP_HOSTNAME=demo-node PATH="$bin:$PATH"
mkdir -p "$CLP_ROOT"
# Stop a demo that is still running from an earlier try.
if [ -S "$CLP_ROOT/run/clp/clpd.sock" ]; then
    clpcl -t >/dev/null 2>&1 || true
    pkill -F "$CLP_ROOT/run/clp/clpd.pid" 2>/dev/null || true
fi
clpcfctrl --push -x "$here"
clpcl -s
clpstat
cat <<MSG

The demo supervisor runs under CLP_ROOT=$CLP_ROOT.
  export CLP_ROOT=$CLP_ROOT CLP_HOSTNAME=demo-node PATH=$bin:\$PATH
  curl -s http://127.0.0.1:8080/ | head -3    # the application
  clpstat                                     # status
  pkill -9 -f "http.server --bind 127.0.0.1"  # kill the application...
  clpstat; curl -s http://127.0.0.1:8080/ | head -1   # ...pidw saw it die, clp restarted it
  tail -5 $CLP_ROOT/var/log/clp/alert.log     # rm 9, rm 13, rc 80: what clp did
  clpgrp -t demo; clpgrp -s demo              # stop and start the group
  tail $CLP_ROOT/var/log/clp/rc.log.cur       # what clpd did and why
  clpcl -t; kill \$(cat $CLP_ROOT/run/clp/clpd.pid)   # stop the demo
MSG
