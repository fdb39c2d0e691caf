complete -c clplogcmd -s m -d 'The message (at most 511 bytes)' -r
complete -c clplogcmd -s l -d 'Level: INFO, WARN or ERR (case-insensitive; I, INF, W, WAR, WARNING, E, ERROR accepted)' -r
complete -c clplogcmd -s i -d 'Event id of the alert (module logcmd)' -r
complete -c clplogcmd -l syslog -d 'Send to syslog'
complete -c clplogcmd -l alert -d 'Write to the alert log'
complete -c clplogcmd -l mail -d 'Send by mail (cluster/mail in clp.conf)'
complete -c clplogcmd -l trap -d 'Send an SNMP trap (accepted; not supported by this version)'
complete -c clplogcmd -s h -l help -d 'Print help'
complete -c clplogcmd -s V -l version -d 'Print version'
