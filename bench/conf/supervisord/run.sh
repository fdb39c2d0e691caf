#!/bin/sh
# runsv's ./run: records the moment it runs, then becomes the job (same pid).
exec @STAMP@ @LOG@ sleep @MARK@
