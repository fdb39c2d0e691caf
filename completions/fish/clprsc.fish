complete -c clprsc -s s -d 'Start RESOURCE (with -f: also what it depends on)' -r
complete -c clprsc -s t -d 'Stop RESOURCE (with -f: also what depends on it)' -r
complete -c clprsc -s n -d 'Print the server RESOURCE is online on (nothing when it is offline)' -r
complete -c clprsc -s h -d 'Target server (any server of the cluster; default: this one)' -r
complete -c clprsc -l apito -d 'Internal API timeout in seconds' -r
complete -c clprsc -s f -d 'Also start dependencies / stop dependents'
complete -c clprsc -l help -d 'Print help'
complete -c clprsc -s V -l version -d 'Print version'
