complete -c clpcl -s w -d 'Wait at most SEC seconds for the operation' -r
complete -c clpcl -s h -d 'Target server (any server of the cluster; default: this one)' -r
complete -c clpcl -l apito -d 'Internal API timeout in seconds' -r
complete -c clpcl -s s -d 'Start the cluster service (and clpd if it is not running)'
complete -c clpcl -s t -d 'Stop the cluster service (groups stop in reverse order; clpd keeps running)'
complete -c clpcl -s r -d 'Stop, then start the cluster service'
complete -c clpcl -l suspend -d 'Suspend: monitoring stops, groups stay as they are'
complete -c clpcl -l resume -d 'Resume after --suspend'
complete -c clpcl -s a -d 'All servers of the cluster (one line per server)'
complete -c clpcl -l force -d 'Force (accepted)'
complete -c clpcl -l web -d 'The WebManager service (clp has none: accepted, nothing to do)'
complete -c clpcl -l alert -d 'The alert synchronisation service (clp has none: accepted)'
complete -c clpcl -l ib -d 'The information base service (clp has none: accepted)'
complete -c clpcl -l api -d 'The REST API service (clp has none: accepted)'
complete -c clpcl -l md -d 'The mirror agent (clp has none: accepted)'
complete -c clpcl -l help -d 'Print help'
complete -c clpcl -s V -l version -d 'Print version'
