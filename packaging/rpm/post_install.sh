# Enable clp at boot on first install ($1 = 1); never start it behind the
# operator's back: starting the cluster service starts applications (clpcl -s).
mkdir -p /var/lib/clp /var/log/clp /etc/clp/scripts
if [ "$1" -eq 1 ] && command -v systemctl >/dev/null 2>&1; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    systemctl enable clp.service >/dev/null 2>&1 || :
fi
