complete -c clpcfget -s g -d 'Print the value at PATH (e.g. /root/resource/exec@exec1/parameters/act/path); an element absent from the file prints its default' -r
complete -c clpcfget -s e -d 'Print the name (or id) of every element at PATH, one per line (e.g. /root/monitor/types, /root/monitor/genw)' -r
complete -c clpcfget -s f -l file -d 'Read this file instead of the installed clp.conf (clp extension)' -r -F
complete -c clpcfget -s h -l help -d 'Print help'
complete -c clpcfget -s V -l version -d 'Print version'
