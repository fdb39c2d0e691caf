complete -c clplogcc -s t -d 'What to collect: type1 (clp\'s files and OS information), type2 (type1 and more OS information), type3 (clp\'s files only)' -r -f -a "type1\t'clp\'s files and the OS information (CLUSTERPRO\'s default)'
type2\t'Type 1 plus more OS information (the whole journal of this boot, ...)'
type3\t'clp\'s files only: no OS information, no syslog'"
complete -c clplogcc -s o -d 'The directory to write <server>-log.tar.gz to [default: var/lib/clp/logcc under the root]' -r -F
complete -c clplogcc -s n -d 'Collect from NODE only (repeatable) [default: every server of clp.conf]' -r
complete -c clplogcc -s h -d 'The server through which the collection is made (its clpd asks each server)' -r
complete -c clplogcc -s r -d 'How many syslog files to collect (the current one and rotated ones; type1 and type2)' -r
complete -c clplogcc -s l -d 'Collect from this server only'
complete -c clplogcc -l help -d 'Print help'
complete -c clplogcc -s V -l version -d 'Print version'
