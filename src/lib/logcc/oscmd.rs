//! The OS commands whose output clplogcc collects, run with a timeout and an
//! output cap.

use super::*;

/// One OS command of the bundle.
pub(super) struct OsCommand {
    pub(super) name: &'static str,
    pub(super) argv: Vec<&'static str>,
    pub(super) timeout: Duration,
    pub(super) tail_lines: Option<usize>,
}

impl OsCommand {
    pub(super) fn new(name: &'static str, argv: &[&'static str]) -> OsCommand {
        OsCommand {
            name,
            argv: argv.to_vec(),
            timeout: COMMAND_TIMEOUT,
            tail_lines: None,
        }
    }

    pub(super) fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    pub(super) fn tail_lines(mut self, n: usize) -> Self {
        self.tail_lines = Some(n);
        self
    }

    /// Runs the command; returns `$ command`, its output and a status line. Any
    /// failure is also added to `notes`.
    pub(super) fn run(&self, notes: &mut Vec<String>) -> String {
        let shown = self.argv.join(" ");
        let mut text = format!("$ {shown}\n");
        let cap = usize::try_from(FILE_CAP).unwrap_or(usize::MAX);
        match run_captured(&self.argv, self.timeout, cap) {
            Err(e) => {
                let note = format!("{shown}: cannot run: {e}");
                text.push_str(&format!("[{note}]\n"));
                notes.push(note);
            }
            Ok(run) => {
                let mut out = String::from_utf8_lossy(&run.output).into_owned();
                if let Some(n) = self.tail_lines {
                    let lines: Vec<&str> = out.lines().collect();
                    if lines.len() > n {
                        out = format!(
                            "[... {} earlier lines not collected]\n{}\n",
                            lines.len() - n,
                            lines[lines.len() - n..].join("\n")
                        );
                    }
                }
                text.push_str(&out);
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                if run.cut {
                    text.push_str(&format!("[only the last {cap} bytes were kept]\n"));
                }
                let status = match (run.timed_out, run.status) {
                    (true, _) => {
                        let note = format!(
                            "{shown}: killed after the {} s timeout (output so far kept)",
                            self.timeout.as_secs()
                        );
                        notes.push(note.clone());
                        note
                    }
                    (false, Some(s)) if s.success() => "exit status 0".to_string(),
                    (false, Some(s)) => {
                        let note = format!("{shown}: failed ({s})");
                        notes.push(note.clone());
                        note
                    }
                    (false, None) => "status unknown".to_string(),
                };
                text.push_str(&format!("[{status}; {:.2} s]\n", run.elapsed.as_secs_f64()));
            }
        }
        text
    }
}

pub(super) struct Captured {
    pub(super) output: Vec<u8>,
    pub(super) cut: bool,
    pub(super) status: Option<std::process::ExitStatus>,
    pub(super) timed_out: bool,
    pub(super) elapsed: Duration,
}

/// Runs `argv` in its own process group with stdout and stderr on one pipe,
/// keeping the last `cap` bytes; kills the group at `timeout`.
pub(super) fn run_captured(argv: &[&str], timeout: Duration, cap: usize) -> io::Result<Captured> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| io::Error::other("empty command"))?;
    let (reader, writer) = io::pipe()?;
    let mut cmd = Command::new(program);
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.args(args)
        .env("LC_ALL", "C")
        .env("PATH", format!("{path}:/usr/sbin:/sbin:/usr/bin:/bin"))
        .stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer)
        .process_group(0);
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    // Close our copies of the write end: EOF comes when the group is done.
    drop(cmd);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = reader;
        let mut buf = Vec::new();
        let mut cut = false;
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match reader.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    if buf.len() > cap.saturating_mul(2) {
                        let drop_n = buf.len() - cap;
                        buf.drain(..drop_n);
                        cut = true;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        if buf.len() > cap {
            let drop_n = buf.len() - cap;
            buf.drain(..drop_n);
            cut = true;
        }
        let _ = tx.send((buf, cut));
    });
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
    let deadline = started + timeout;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) => {}
            Err(_) => break None,
        }
        if Instant::now() >= deadline {
            timed_out = true;
            let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGKILL);
            break child.wait().ok();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // Background children of the command may keep the pipe open: give the
    // reader a moment, then kill what is left of the command's group (the group
    // id stays reserved while a member holds the pipe) and wait a little more.
    let read = match rx.recv_timeout(Duration::from_millis(200)) {
        Ok(r) => Some(r),
        Err(_) => {
            let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGKILL);
            rx.recv_timeout(Duration::from_secs(2)).ok()
        }
    };
    let (output, cut) = read.unwrap_or_else(|| (b"[output not available]\n".to_vec(), false));
    Ok(Captured {
        output,
        cut,
        status,
        timed_out,
        elapsed: started.elapsed(),
    })
}
