complete -c clpmonctrl -s m -d 'A monitor (repeat for several)' -r
complete -c clpmonctrl -s w -d 'Seconds to wait for suspend/resume to take effect (accepted: it is immediate)' -r
complete -c clpmonctrl -s h -d 'Target server (any server of the cluster; default: this one)' -r
complete -c clpmonctrl -l apito -d 'Internal API timeout in seconds' -r
complete -c clpmonctrl -s s -d 'Suspend monitoring (all monitors, or those named with -m); counters are kept'
complete -c clpmonctrl -s r -d 'Resume monitoring'
complete -c clpmonctrl -s c -d 'Clear the recovery counters (script, restart, failover, final action)'
complete -c clpmonctrl -s v -d 'Show the recovery counters'
complete -c clpmonctrl -s e -d 'Enable dummy failure of one monitor (-m): it reports an error without checking'
complete -c clpmonctrl -s n -d 'Disable dummy failure (of -m, or of all monitors)'
complete -c clpmonctrl -l help -d 'Print help'
complete -c clpmonctrl -s V -l version -d 'Print version'
