//! Error snapshots: the tails of the module logs kept beside an Error alert
//! (`elog_<module>N.tar.gz`, a few generations).

use super::*;

/// `var/log/clp/elog_<module><n>.tar.gz`.
pub fn elog_path(paths: &Paths, module: &str, n: usize) -> PathBuf {
    paths.error_snapshot_file(module, n)
}

/// Keeps a small snapshot of the module logs and the alert log as
/// `var/log/clp/elog_<module>0.tar.gz`, shifting older ones (at most
/// [`ELOG_GENERATIONS`]). Returns the new file. On error nothing was rotated.
pub fn error_snapshot(paths: &Paths, module: &str) -> Result<PathBuf> {
    check_name("module", module)?;
    let _guard = ELOG_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let dir = paths.log_dir();
    let tmp = dir.join(format!(".elog_{module}.{}.tmp", std::process::id()));
    let written = write_snapshot(&dir, module, &tmp);
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(ClpError::io("cannot write the error snapshot", &tmp, e));
    }
    for n in (0..ELOG_GENERATIONS - 1).rev() {
        let from = elog_path(paths, module, n);
        let to = elog_path(paths, module, n + 1);
        match fs::rename(&from, &to) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(ClpError::io("cannot rotate", &from, e));
            }
        }
    }
    let newest = elog_path(paths, module, 0);
    fs::rename(&tmp, &newest).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        ClpError::io("cannot rename the error snapshot to", &newest, e)
    })?;
    Ok(newest)
}

pub(super) fn write_snapshot(dir: &Path, module: &str, tmp: &Path) -> io::Result<()> {
    let file = create_private(tmp)?;
    let top = format!("elog_{module}");
    let mut b = Bundle::new(file, &top, Compression::fast());
    let mut names = module_log_names(dir)?;
    // The alert's module first, then the alert log, then the other modules.
    names.sort_by_key(|n| {
        let own = n.starts_with(&format!("{module}."));
        (!own, n.clone())
    });
    let split = names
        .iter()
        .position(|n| !n.starts_with(&format!("{module}.")))
        .unwrap_or(names.len());
    names.insert(split, ALERT_LOG_FILE.to_string());
    let mut total = 0u64;
    let mut omitted = Vec::new();
    for name in &names {
        if total >= ELOG_TOTAL_CAP {
            omitted.push(name.clone());
            continue;
        }
        let cap = ELOG_FILE_CAP.min(ELOG_TOTAL_CAP - total);
        match read_tail(&dir.join(name), cap) {
            Ok((data, _, mode)) => {
                total += data.len() as u64;
                b.add_bytes(name, &data, mode);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => b.notes.push(format!("{name}: {e}")),
        }
    }
    let mut info = format!(
        "error snapshot of module {module}\ntaken: {}\nper-file cap: {ELOG_FILE_CAP} bytes (newest kept), total cap: {ELOG_TOTAL_CAP} bytes\n",
        crate::timetext::stamp(&Local::now()),
    );
    if !omitted.is_empty() {
        info.push_str(&format!("omitted (total cap): {}\n", omitted.join(" ")));
    }
    for n in &b.notes {
        info.push_str(&format!("note: {n}\n"));
    }
    b.add_bytes("elog.txt", info.as_bytes(), 0o644);
    b.finish().map(|_| ())
}

/// File names of the module logs in `dir`: `*.log.cur`, `*.log.pre`, `*.err.cur`, `*.err.pre`.
pub(super) fn module_log_names(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_log = [".log.cur", ".log.pre", ".err.cur", ".err.pre"]
            .iter()
            .any(|s| name.ends_with(s));
        if is_log && entry.file_type().is_ok_and(|t| t.is_file()) {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}
