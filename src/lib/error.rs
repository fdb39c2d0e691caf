//! The one error type of clp and the exit-code table.
//!
//! Every failure a user can see is a [`ClpError`]: a kind, which decides the exit
//! code, and a message that names the object (file, line, element, group, ...) and
//! says what to do. The harness in `cli` prints it once as `<program>: error: ...`.
//! The table below is the only place exit codes are defined; man pages and the
//! README copy it from here.

use std::fmt;
use std::io;
use std::path::Path;

/// What went wrong, as far as the caller's exit code is concerned.
/// Crosses the clpd socket as is, so a command exits as if it had failed locally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ErrorKind {
    /// The operation was attempted and failed (a script failed, a group did not start).
    Failed,
    /// Invalid options or arguments.
    Usage,
    /// The configuration is invalid (validation report attached to the message).
    Config,
    /// A named object (group, resource, monitor, server, file) does not exist.
    NotFound,
    /// Not allowed: not root, or a file's permissions.
    Permission,
    /// clpd is not running or cannot be reached.
    NotRunning,
    /// Waiting for something timed out.
    Timeout,
    /// Refused in the current state (already started, another operation running).
    State,
    /// Reading or writing a file or directory failed.
    Io,
    /// The command is already running (CLUSTERPRO's "double activation", 251).
    AlreadyRunning,
    /// A bug in clp. Please report it.
    Internal,
}

/// Exit codes, one per [`ErrorKind`]; 0 is success.
///
/// | code | meaning |
/// |------|---------|
/// | 0    | success |
/// | 1    | the operation failed |
/// | 2    | invalid option or argument |
/// | 3    | invalid configuration |
/// | 4    | unknown object (group, resource, monitor, server, file) |
/// | 5    | permission denied |
/// | 6    | clpd is not running / cannot be reached |
/// | 7    | timed out |
/// | 8    | refused in the current state |
/// | 9    | file or directory I/O error |
/// | 251  | already running (double activation) |
/// | 255  | internal error |
pub const EXIT_CODES: &[(u8, &str)] = &[
    (0, "success"),
    (1, "the operation failed"),
    (2, "invalid option or argument"),
    (3, "invalid configuration"),
    (4, "unknown object (group, resource, monitor, server, file)"),
    (5, "permission denied"),
    (6, "clpd is not running or cannot be reached"),
    (7, "timed out"),
    (8, "refused in the current state"),
    (9, "file or directory I/O error"),
    (251, "already running (double activation)"),
    (255, "internal error"),
];

impl ErrorKind {
    /// The process exit code for this kind.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Failed => 1,
            ErrorKind::Usage => 2,
            ErrorKind::Config => 3,
            ErrorKind::NotFound => 4,
            ErrorKind::Permission => 5,
            ErrorKind::NotRunning => 6,
            ErrorKind::Timeout => 7,
            ErrorKind::State => 8,
            ErrorKind::Io => 9,
            ErrorKind::AlreadyRunning => 251,
            ErrorKind::Internal => 255,
        }
    }
}

/// An error a user sees: its kind and a message naming the object and the remedy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClpError {
    pub kind: ErrorKind,
    pub message: String,
    /// Set when the error is a broken pipe on stdout: the reader went away, which
    /// is not a failure (`clpstat | head`).
    pub broken_pipe: bool,
}

impl ClpError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ClpError {
            kind,
            message: message.into(),
            broken_pipe: false,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        ClpError::new(ErrorKind::Usage, message)
    }

    pub fn config(message: impl Into<String>) -> Self {
        ClpError::new(ErrorKind::Config, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ClpError::new(ErrorKind::NotFound, message)
    }

    pub fn failed(message: impl Into<String>) -> Self {
        ClpError::new(ErrorKind::Failed, message)
    }

    /// An I/O error while doing `what` to `path`, e.g. `io("cannot read", p, e)`.
    pub fn io(what: &str, path: &Path, err: io::Error) -> Self {
        let kind = match err.kind() {
            io::ErrorKind::NotFound => ErrorKind::NotFound,
            io::ErrorKind::PermissionDenied => ErrorKind::Permission,
            _ => ErrorKind::Io,
        };
        ClpError::new(kind, format!("{what} {}: {err}", path.display()))
    }

    /// An error writing to stdout or stderr.
    pub fn output(err: io::Error) -> Self {
        let mut e = ClpError::new(ErrorKind::Io, format!("cannot write output: {err}"));
        e.broken_pipe = err.kind() == io::ErrorKind::BrokenPipe;
        e
    }

    pub fn exit_code(&self) -> u8 {
        if self.broken_pipe {
            0
        } else {
            self.kind.exit_code()
        }
    }
}

impl fmt::Display for ClpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ClpError {}

/// Shorthand for results in clp.
pub type Result<T, E = ClpError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_kinds() {
        let kinds = [
            ErrorKind::Failed,
            ErrorKind::Usage,
            ErrorKind::Config,
            ErrorKind::NotFound,
            ErrorKind::Permission,
            ErrorKind::NotRunning,
            ErrorKind::Timeout,
            ErrorKind::State,
            ErrorKind::Io,
            ErrorKind::AlreadyRunning,
            ErrorKind::Internal,
        ];
        for kind in kinds {
            assert!(
                EXIT_CODES.iter().any(|(c, _)| *c == kind.exit_code()),
                "{kind:?} has no row in EXIT_CODES"
            );
        }
        assert_eq!(
            EXIT_CODES.len(),
            kinds.len() + 1,
            "one row per kind plus success"
        );
    }

    #[test]
    fn broken_pipe_is_success() {
        let e = ClpError::output(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(e.exit_code(), 0);
    }
}
