#!/bin/sh
# Graceful stop: QUIT lets workers finish their requests; then wait for the
# master (CLP_PID) to exit, so the next start finds the port free. CLP_PID is
# also the process group of everything the start script began: what is left of
# it (workers orphaned by a killed master) is killed, or they would keep the port.
[ -n "$CLP_PID" ] || exit 0
kill -QUIT "$CLP_PID" 2>/dev/null
i=0
while kill -0 "$CLP_PID" 2>/dev/null && [ $i -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
done
kill -KILL "-$CLP_PID" 2>/dev/null
exit 0
