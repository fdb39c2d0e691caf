//! A bundle carried between servers: made by the server it describes into
//! memory (for `clplogcc` on another server), and saved where that program
//! writes its archives.

use super::*;

/// The largest archive a server sends to another one: beyond it the
/// collection is refused with what to do (collect on that server with -l).
pub const MAX_SENT_ARCHIVE: usize = 64 * 1024 * 1024;

/// Makes this server's bundle in `work` (a private directory that is
/// removed afterwards) and returns its bytes.
pub fn collect_packed(paths: &Paths, opts: &Options, work: &Path) -> Result<Vec<u8>> {
    let opts = Options {
        out_dir: work.to_path_buf(),
        ..opts.clone()
    };
    let made = collect(paths, &opts);
    let bytes = made.and_then(|done| {
        let size = fs::metadata(&done.archive)
            .map_err(|e| ClpError::io("cannot read", &done.archive, e))?
            .len();
        if size > MAX_SENT_ARCHIVE as u64 {
            return Err(ClpError::new(
                ErrorKind::Failed,
                format!(
                    "the archive of {} is {size} bytes, more than the {MAX_SENT_ARCHIVE} a server sends to another: \
                     run clplogcc -l on {} itself (or collect type3)",
                    opts.server, opts.server
                ),
            ));
        }
        fs::read(&done.archive).map_err(|e| ClpError::io("cannot read", &done.archive, e))
    });
    let _ = fs::remove_dir_all(work);
    bytes
}

/// Writes `bytes`, the archive of `server`, as `<out_dir>/<server>-log.tar.gz`
/// (through a temporary file, mode 0600, as a local collection does).
pub fn save_archive(out_dir: &Path, server: &str, bytes: &[u8]) -> Result<PathBuf> {
    check_name("server name", server)?;
    fs::create_dir_all(out_dir).map_err(|e| ClpError::io("cannot create", out_dir, e))?;
    let archive = out_dir.join(archive_name(server));
    let tmp = out_dir.join(format!(
        ".{}.{}.tmp",
        archive_name(server),
        std::process::id()
    ));
    let written = create_private(&tmp).and_then(|mut f| {
        use std::io::Write;
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(ClpError::io("cannot write", &tmp, e));
    }
    fs::rename(&tmp, &archive).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        ClpError::io("cannot rename the archive to", &archive, e)
    })?;
    Ok(archive)
}
