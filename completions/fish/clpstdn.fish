complete -c clpstdn -s h -d 'Target server (any server of the cluster; default: this one)' -r
complete -c clpstdn -l apito -d 'Internal API timeout in seconds' -r
complete -c clpstdn -s r -d 'Reboot instead of shutting down'
complete -c clpstdn -l help -d 'Print help'
complete -c clpstdn -s V -l version -d 'Print version'
