complete -c clpd -l foreground -d 'Stay in the foreground (for systemd and tests); without it clpd detaches and returns once it is ready'
complete -c clpd -l start -d 'Start the cluster service even if the operator stopped it on this boot (what `clpcl -s` asks for when it has to start clpd)'
complete -c clpd -s h -l help -d 'Print help'
complete -c clpd -s V -l version -d 'Print version'
