//! The validation report: every problem found in a configuration, each with the
//! file, line and element path, so that one run shows the operator everything to fix.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// 1-based line in the file; 0 when the problem has no single line (a missing element).
    pub line: u32,
    /// Element path, `/root/monitor/genw@genw1/polling/interval`.
    pub path: String,
    pub message: String,
}

/// All problems found in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The file as the user named it.
    pub file: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    pub fn new(file: impl Into<String>) -> Self {
        Report {
            file: file.into(),
            diagnostics: Vec::new(),
        }
    }

    pub fn error(&mut self, line: u32, path: impl Into<String>, message: impl Into<String>) {
        self.push(Severity::Error, line, path, message);
    }

    pub fn warning(&mut self, line: u32, path: impl Into<String>, message: impl Into<String>) {
        self.push(Severity::Warning, line, path, message);
    }

    fn push(
        &mut self,
        severity: Severity,
        line: u32,
        path: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.diagnostics.push(Diagnostic {
            severity,
            line,
            path: path.into(),
            message: message.into(),
        });
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
    }

    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    /// Whether the configuration is refused: errors, or warnings under `--strict`.
    pub fn is_refused(&self, strict: bool) -> bool {
        self.has_errors() || (strict && self.warnings().next().is_some())
    }

    /// Sorts by line so the report reads top to bottom (stable: same-line order kept).
    pub fn sort(&mut self) {
        self.diagnostics.sort_by_key(|d| d.line);
    }
}

impl fmt::Display for Report {
    /// One line per problem: `clp.conf:57: /root/...: message`, warnings marked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.diagnostics {
            write!(f, "{}", self.file)?;
            if d.line > 0 {
                write!(f, ":{}", d.line)?;
            }
            f.write_str(": ")?;
            if d.severity == Severity::Warning {
                f.write_str("warning: ")?;
            }
            if !d.path.is_empty() {
                write!(f, "{}: ", d.path)?;
            }
            writeln!(f, "{}", d.message)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_file_line_path() {
        let mut r = Report::new("clp.conf");
        r.error(
            57,
            "/root/monitor/genw@genw1/polling/interval",
            "must be 1..999999, got 0",
        );
        r.warning(0, "/root/monitor/mysqlw@db", "not supported");
        assert_eq!(
            r.to_string(),
            "clp.conf:57: /root/monitor/genw@genw1/polling/interval: must be 1..999999, got 0\n\
             clp.conf: warning: /root/monitor/mysqlw@db: not supported\n"
        );
        assert!(r.is_refused(false));
    }
}
