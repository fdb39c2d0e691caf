#!/bin/sh
# Stop your application here. CLP_FACTOR says why (CLUSTERSHUTDOWN, GROUPSTOP, ...).
clplogcmd -m "stop your application ($CLP_FACTOR)" 2>/dev/null || true
exit 0
