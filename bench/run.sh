#!/usr/bin/env bash
# clp benchmark: recovery latency (clp pidw vs runsv, supervisord, monit),
# clpd's footprint with 10 and 100 monitors, the CPU cost of 100 ipw and
# 100 httpw monitors, clpd with 1000 monitors of mixed kinds, and a cluster
# of three servers in network namespaces (failure detection, idle footprint;
# needs root and corosync). One command:
#
#     bench/run.sh
#
# Writes bench/results/latest.md and bench/results/latest.json. Takes about
# 5 min 50 s after the build (two 60 s footprint windows, a 30 s network
# window and a 30 s scale window included), plus about 5 min 20 s for the
# cluster pass (one crash with the default timing takes ~200 s). Knobs
# (environment): BENCH_KILLS (100: clp and runsv), BENCH_SLOW_KILLS (30:
# supervisord and monit), BENCH_BREAKDOWN_KILLS (30), BENCH_WINDOW (60 s per
# footprint window), BENCH_MONITORS (10,100), BENCH_NET_MONITORS (100 ipw and
# 100 httpw against a local nginx in one clpd; 0 skips), BENCH_NET_WINDOW (30 s),
# BENCH_SCALE_MONITORS (1000 monitors of mixed kinds in one clpd; 0 skips),
# BENCH_SCALE_WINDOW (30 s), BENCH_CLUSTER (1; 0 skips the cluster pass),
# BENCH_CLUSTER_REPS (10 crashes and 10 freezes with the tuned timing),
# BENCH_CLUSTER_DEFAULT_REPS (1 crash with the default timing),
# BENCH_CLUSTER_DEFAULT_FREEZES (0), BENCH_CLUSTER_TUNED (500,2200: interval,
# timeout in ms), BENCH_CLUSTER_WINDOW (20 s per idle window),
# BENCH_FAILOVER (1; 0 skips the failover pass: bench/failover.py, two servers
# running the README's web service and an observer; needs root, corosync and
# nginx; about 8 min, of which ~3 min for the crash with the default timing),
# BENCH_FAILOVER_REPS (10 server crashes per tuned setting),
# BENCH_FAILOVER_APP_REPS (10 nginx crashes per recovery),
# BENCH_FAILOVER_DEFAULT_REPS (1 crash with the default timing),
# BENCH_FAILOVER_TUNED (250,2200: interval, timeout in ms),
# BENCH_FAILOVER_DEADLINE (2 s: the tuned release deadline),
# BENCH_FAILOVER_PROBE_EVERY (0.02 s), BENCH_FAILOVER_PROBE_TIMEOUT (0.2 s),
# BENCH_MONIT (1; 0 skips monit),
# BENCH_RUNSV_MIN_UPTIME (1.05 s: runsv's job is killed only when older),
# BENCH_JITTER (1.0 s: random extra wait before each kill, see README),
# BENCH_TARGETS (runsv,runsv-finish,floor,floor-cg,clp,clp-true-stop,clp-tmpfs,
#   clp-instrumented,supervisord,monit; clp-base adds clp's pass with the binaries
#   of BENCH_BASE_BIN, an A/B in one run), BENCH_SEED (1),
# BENCH_TMP (parent of the work directory, e.g. /dev/shm; default $TMPDIR or /tmp),
# BENCH_NO_BUILD=1 (use target/release as it is), BENCH_KEEP=1 (keep the work
# directory), BENCH_OUT (results directory).
# Quick run: BENCH_KILLS=10 BENCH_SLOW_KILLS=3 BENCH_BREAKDOWN_KILLS=5 BENCH_WINDOW=5 bench/run.sh
#
# Everything runs on this machine; no traffic leaves loopback. Every daemon the
# benchmark starts is stopped on exit, failure or Ctrl-C included.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
out=${BENCH_OUT:-$here/results}
work=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/clp-bench.XXXXXX")

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    # Stops, by pid, every process the run registered in $work/pids (bench.py
    # also does this itself; this catches a driver that died hard).
    python3 "$here/failover.py" cleanup --work "$work" || true
    python3 "$here/bench.py" cleanup --work "$work" || {
        # Last resort without python: the registered pids, one by one.
        while read -r _kind pid _rest; do
            kill "$pid" 2>/dev/null || true
        done <"$work/pids" 2>/dev/null || true
    }
    if [ "${BENCH_KEEP:-0}" = 1 ] || [ "$rc" != 0 ]; then
        echo "bench: work directory kept: $work" >&2
    else
        rm -rf "$work"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

need_install=()
command -v runsv >/dev/null 2>&1 || need_install+=(runit)
command -v supervisord >/dev/null 2>&1 || need_install+=(supervisor)
if [ "${BENCH_MONIT:-1}" != 0 ] && ! command -v monit >/dev/null 2>&1; then
    need_install+=(monit)
fi
if [ ${#need_install[@]} -gt 0 ]; then
    echo "bench: installing ${need_install[*]} (Debian packages)"
    if [ "$(id -u)" != 0 ]; then
        echo "bench: need root to install ${need_install[*]}" >&2
        exit 1
    fi
    # The packages' own services must not start: the benchmark runs its own
    # daemons. Debian images forbid service starts with policy-rc.d; where there
    # is none, one is put in place for the install only.
    policy=/usr/sbin/policy-rc.d
    added_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        added_policy=1
    fi
    install_rc=0
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_install[@]}" >/dev/null \
        || install_rc=$?
    if [ "$added_policy" = 1 ]; then
        rm -f "$policy"
    fi
    [ "$install_rc" = 0 ] || { echo "bench: apt-get failed ($install_rc)" >&2; exit 1; }
fi
for tool in runsv supervisord python3 cc; do
    command -v "$tool" >/dev/null 2>&1 || { echo "bench: $tool is missing" >&2; exit 1; }
done

mkdir -p "$work/bin"
if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
    echo "bench: cargo build --release"
    (cd "$repo" && cargo build --release --quiet --bin clpd --bin clpcl --bin clpcfctrl --bin clpstat --bin clpmonctrl)
    export BENCH_BUILD_MODE=built
else
    export BENCH_BUILD_MODE=prebuilt
fi
# Copies: a concurrent build in target/ cannot swap the binaries mid-run.
for b in clpd clpcl clpcfctrl clpstat clpmonctrl; do
    cp "$repo/target/release/$b" "$work/bin/"
done
cc -O2 -Wall -o "$work/bin/stamp" "$here/tools/stamp.c"
cc -O2 -Wall -o "$work/bin/reaper" "$here/tools/reaper.c"
cc -O2 -Wall -o "$work/bin/floor" "$here/tools/floor.c"

python3 "$here/bench.py" run --work "$work" --bin "$work/bin" --out "$out"
cat "$out/latest.md"
# The failover pass writes failover.md and failover.json beside latest.*.
if [ "${BENCH_FAILOVER:-1}" != 0 ]; then
    python3 "$here/failover.py" run --work "$work" --bin "$work/bin" --out "$out"
fi
