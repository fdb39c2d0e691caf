complete -c clpcfctrl -s x -d 'The directory holding clp.conf and scripts/ [default: current directory; with --check alone: the installed configuration]' -r -F
complete -c clpcfctrl -s h -d 'The server to push to (that server only) or pull from [default: this server]' -r
complete -c clpcfctrl -s p -d 'Port of the target server (accepted, unused)' -r
complete -c clpcfctrl -l push -d 'Validate DIR/clp.conf and DIR/scripts, install them (on every member of a cluster), ask clpd to reload'
complete -c clpcfctrl -l pull -d 'Write the installed clp.conf and scripts to DIR'
complete -c clpcfctrl -l check -d 'Validate DIR/clp.conf and DIR/scripts without installing (clp extension)'
complete -c clpcfctrl -s l -d 'Configuration made on Linux (accepted; the encoding is read from the file)'
complete -c clpcfctrl -s w -d 'Configuration made by the WebUI on Windows (accepted; the encoding is read from the file)'
complete -c clpcfctrl -l strict -d 'Refuse warnings too (unsupported types and problems inside them, unknown elements)'
complete -c clpcfctrl -l json -d 'Print the check report as JSON (with --check)'
complete -c clpcfctrl -l force -d 'Push even when servers are down: they are reported and skipped'
complete -c clpcfctrl -l nocheck -d 'Accepted for compatibility; clp always validates before installing'
complete -c clpcfctrl -l help -d 'Print help'
complete -c clpcfctrl -s V -l version -d 'Print version'
