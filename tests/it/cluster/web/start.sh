#!/bin/sh
# nginx serving the shared disk (/mnt/web) on port 80 of every address, the
# floating one included; in the foreground: the exec is asynchronous and
# pidw watches this process. Its own files stay off the shared disk, and
# every answer names the server (X-Served-By).
docroot="${CLP_ROOT%/}/mnt/web"
state=/run/clp-web
server=${CLP_HOSTNAME:-$(hostname -s)}
mkdir -p "$state/tmp" || exit 1
cat > "$state/nginx.conf" <<CONF || exit 1
worker_processes 1;
error_log $state/error.log;
pid $state/nginx.pid;
events { worker_connections 64; }
http {
    access_log $state/access.log;
    client_body_temp_path $state/tmp;
    proxy_temp_path $state/tmp;
    fastcgi_temp_path $state/tmp;
    uwsgi_temp_path $state/tmp;
    scgi_temp_path $state/tmp;
    server {
        listen 80;
        root $docroot;
        add_header X-Served-By $server always;
    }
}
CONF
exec nginx -p "$state" -c "$state/nginx.conf" -g 'daemon off;'
