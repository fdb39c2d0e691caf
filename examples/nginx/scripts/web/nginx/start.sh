#!/bin/sh
# Starts nginx in the foreground (asynchronous exec: pidw watches this process).
# CLP_NGINX_DIR: where nginx keeps its pid, logs and temp files.
dir=${CLP_NGINX_DIR:-/tmp/clp-nginx}
here=$(dirname "$0")
case "$CLP_EVENT" in
START|FAILOVER) ;;
*) echo "not started by clp" >&2; exit 1 ;;
esac
mkdir -p "$dir/tmp"
conf=${CLP_NGINX_CONF:-$here/nginx.conf}
sed "s|@DIR@|$dir|g" "$conf" > "$dir/nginx.conf" || exit 1
exec nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;'
