#!/bin/sh
# Start script of the demo's exec resource "web" (asynchronous: clp watches this
# process with pidw). It branches on CLP_EVENT as CLUSTERPRO scripts do.
case "$CLP_EVENT" in
START|FAILOVER|RECOVER)
    echo "web: $CLP_EVENT on $CLP_SERVER server, starting the HTTP server"
    cd "${DEMO_DOCROOT:-/tmp}" || exit 1
    exec python3 -m http.server --bind 127.0.0.1 "${DEMO_PORT:-8080}"
    ;;
*)
    echo "web: not started by clp (CLP_EVENT is empty)" >&2
    exit 1
    ;;
esac
