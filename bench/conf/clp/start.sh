#!/bin/sh
# Asynchronous start script (pidw watches its pid): records the moment it runs,
# then becomes the job itself (exec keeps the pid).
exec @STAMP@ @LOG@ sleep @MARK@
