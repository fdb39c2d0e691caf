complete -c clpalert -l level -d 'Only alerts of at least this level: info, warning or error (any case; i, w, warn, e, err accepted)' -r
complete -c clpalert -l module -d 'Only alerts of this module (rm, rc, pm, logcmd, ...); repeat for several' -r
complete -c clpalert -l id -d 'Only alerts with this event id; repeat for several' -r
complete -c clpalert -l since -d 'Only alerts at or after TIME: "YYYY/MM/DD HH:MM:SS", YYYY-MM-DD, or a relative 30s, 10m, 2h, 1d' -r
complete -c clpalert -s n -d 'At most N alerts (the newest)' -r
complete -c clpalert -l json -d 'Print a JSON array of the alert records'
complete -c clpalert -s h -l help -d 'Print help'
complete -c clpalert -s V -l version -d 'Print version'
