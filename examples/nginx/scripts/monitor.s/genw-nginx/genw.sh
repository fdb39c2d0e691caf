#!/bin/sh
# Healthy when nginx has at least one worker process.
workers=$(pgrep -f "nginx: worker process" | wc -l)
[ "$workers" -ge 1 ] || { echo "no nginx worker process"; exit 1; }
exit 0
