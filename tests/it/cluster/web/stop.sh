#!/bin/sh
# QUIT lets nginx finish its requests; then whatever is left of the start
# script's process group (CLP_PID) is killed, so that the disk can be
# unmounted and the next start finds port 80 free.
[ -n "$CLP_PID" ] || exit 0
kill -QUIT "$CLP_PID" 2>/dev/null
i=0
while kill -0 "$CLP_PID" 2>/dev/null && [ $i -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
done
kill -KILL "-$CLP_PID" 2>/dev/null
exit 0
