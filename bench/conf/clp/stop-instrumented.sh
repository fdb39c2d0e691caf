#!/bin/sh
# As stop.sh, plus a stamp when the script reaches its first line (breakdown pass).
@STAMP@ @STOPLOG@
[ -n "$CLP_PID" ] && kill "$CLP_PID" 2>/dev/null
exit 0
