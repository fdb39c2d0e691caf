#!/bin/sh
# Start your application here. clp sets CLP_EVENT (START, FAILOVER), CLP_SERVER,
# CLP_DISK, CLP_GROUPNAME, CLP_RESOURCENAME... (man clp-scripts).
case "$CLP_EVENT" in
START|FAILOVER)
    clplogcmd -m "start your application" 2>/dev/null || true
    ;;
*)
    echo "not started by clp" >&2
    exit 1
    ;;
esac
exit 0
