#!/bin/sh
# CLP_PID is the pid of the asynchronous start script (already dead after kill -9).
[ -n "$CLP_PID" ] && kill "$CLP_PID" 2>/dev/null
exit 0
