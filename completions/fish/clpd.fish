complete -c clpd -l foreground -d 'Stay in the foreground (for systemd and tests); without it clpd detaches and returns once it is ready'
complete -c clpd -s h -l help -d 'Print help'
complete -c clpd -s V -l version -d 'Print version'
