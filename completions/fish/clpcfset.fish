complete -c clpcfset -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clpcfset -s V -l version -d 'Print version'
