complete -c clpstat -l sv -d 'Show the configuration of every server, or of server NAME' -r
complete -c clpstat -l hb -d 'Show the configuration of every heartbeat resource, or of NAME' -r
complete -c clpstat -l grp -d 'Show the configuration of every group, or of group NAME' -r
complete -c clpstat -l rsc -d 'Show the configuration of every group resource, or of NAME' -r
complete -c clpstat -l mon -d 'Show the configuration of every monitor resource, or of NAME' -r
complete -c clpstat -s h -d 'Show the status as server HOST sees it (its clpd answers over the cluster); configuration views are the cluster\'s whatever HOST is' -r
complete -c clpstat -s s -d 'Show the cluster status (the default view)'
complete -c clpstat -l long -d 'Widen the name column of the status view from 17 to 34 characters'
complete -c clpstat -s g -d 'Show which groups are online on which server (group map)'
complete -c clpstat -s m -d 'Show the monitor resources\' status per server'
complete -c clpstat -s n -d 'Show the heartbeat resources\' status per server'
complete -c clpstat -s p -d 'Show the network partition resolution status (NP resources, quorum)'
complete -c clpstat -s i -d 'Show the whole configuration'
complete -c clpstat -l cl -d 'Show the cluster properties'
complete -c clpstat -l detail -d 'Add the tuning parameters to a configuration view'
complete -c clpstat -l local -d 'Status as this server knows it, without asking another server (the status views never do: they show what clpd last merged)'
complete -c clpstat -l json -d 'Print the whole status snapshot as JSON (clp extension)'
complete -c clpstat -l help -d 'Print help'
complete -c clpstat -s V -l version -d 'Print version'
