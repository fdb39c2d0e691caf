#!/bin/sh
# Stop script of "web": CLP_PID is the pid of the asynchronous start script.
echo "web: stopping ($CLP_FACTOR), pid ${CLP_PID:-unknown}"
if [ -n "$CLP_PID" ]; then
    kill "$CLP_PID" 2>/dev/null
fi
exit 0
