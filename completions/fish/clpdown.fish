complete -c clpdown -s h -d 'Target server (any server of the cluster; default: this one)' -r
complete -c clpdown -l apito -d 'Internal API timeout in seconds' -r
complete -c clpdown -s r -d 'Reboot instead of shutting down'
complete -c clpdown -l help -d 'Print help'
complete -c clpdown -s V -l version -d 'Print version'
