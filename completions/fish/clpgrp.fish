complete -c clpgrp -s s -d 'Start GROUP (all groups when omitted)' -r
complete -c clpgrp -s t -d 'Stop GROUP (all groups when omitted)' -r
complete -c clpgrp -s m -d 'Move GROUP to another server (-a); one server has no destination' -r
complete -c clpgrp -s i -d 'Fail GROUP over to another server; one server has no destination' -r
complete -c clpgrp -s n -d 'Print the server GROUP is active on (nothing when it is offline)' -r
complete -c clpgrp -s a -d 'Destination server of -m/-i' -r
complete -c clpgrp -s h -d 'Target server (any server of the cluster; default: this one)' -r
complete -c clpgrp -l apito -d 'Internal API timeout in seconds' -r
complete -c clpgrp -s f -d 'Force (accepted)'
complete -c clpgrp -l help -d 'Print help'
complete -c clpgrp -s V -l version -d 'Print version'
