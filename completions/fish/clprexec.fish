complete -c clprexec -l failover -d 'Fail GROUP over from the server it runs on to the next of its policy (started on the server -h names when it runs nowhere)' -r
complete -c clprexec -l script -d 'Run SCRIPT, a file of the scripts directory\'s trnreq/ on that server' -r
complete -c clprexec -l notice -d 'Log a notice there (alert trnsv 10); MRW names the message receive monitor' -r
complete -c clprexec -s k -d 'The category (and keyword) of the notice' -r
complete -c clprexec -s h -d 'The server that carries out the request (default: this one)' -r
complete -c clprexec -s w -d 'Wait at most SEC seconds for the answer (the script\'s timeout too)' -r
complete -c clprexec -s p -d 'Port of CLUSTERPRO\'s transaction server (accepted; clp uses Corosync)' -r
complete -c clprexec -s o -d 'Also append the result line to FILE' -r -F
complete -c clprexec -l help -d 'Print help'
complete -c clprexec -s V -l version -d 'Print version'
