# On removal ($1 = 0), stop the cluster service (stop scripts run) first.
if [ "$1" -eq 0 ] && command -v systemctl >/dev/null 2>&1; then
    systemctl stop clp.service >/dev/null 2>&1 || :
    systemctl stop clp-corosync.service >/dev/null 2>&1 || :
    systemctl disable clp.service >/dev/null 2>&1 || :
fi
