#!/bin/sh
# Custom health check of the demo: exit 0 when the page is served, 1 otherwise.
python3 - "${DEMO_PORT:-8080}" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/", timeout=4)
except Exception as e:
    print(f"genw-web: {e}")
    sys.exit(1)
PY
