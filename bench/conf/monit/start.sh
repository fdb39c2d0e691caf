#!/bin/sh
# monit's start program: records the moment it runs; the job (same pid as the
# stamp) writes the pid file monit checks, then becomes `sleep`.
@STAMP@ @LOG@ /bin/sh -c 'echo $$ > @DIR@/job.pid; exec sleep @MARK@' </dev/null >/dev/null 2>&1 &
exit 0
