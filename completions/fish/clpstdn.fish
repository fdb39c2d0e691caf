complete -c clpstdn -s h -d 'Only server HOST (default: every server of the cluster, this one last)' -r
complete -c clpstdn -l apito -d 'Internal API timeout in seconds (for each server)' -r
complete -c clpstdn -s r -d 'Reboot instead of shutting down'
complete -c clpstdn -l help -d 'Print help'
complete -c clpstdn -s V -l version -d 'Print version'
