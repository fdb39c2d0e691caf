//! `cargo xtask gen`: writes the man pages and shell completions from the
//! clap definitions the programs use, so options in the docs can never drift.
//!
//! Man pages are hand-written roff templates in `man/src/<page>.in`; the
//! generator fills these markers:
//! * `@TH@`: the title line;
//! * `@SYNOPSIS@`, `@OPTIONS@`: rendered from the program's clap `Command`;
//! * `@EXIT_CODES@`: the table in [`clp::error::EXIT_CODES`];
//! * `@PARAMETERS@` (clp.conf.5): every row of [`clp::config::defaults::PARAMS`].
//!
//! `cargo xtask gen --check` fails when a committed file differs from what it
//! would write (CI runs it).

use std::fs;
use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser};
use clap_complete::Shell;

use clp::cli;
use clp::config::defaults::{self, DefaultValue, Kind, Scope};
use clp::error::{ClpError, EXIT_CODES, ErrorKind, Result};

/// The date on the man pages' title lines; bump it with a release.
const MAN_DATE: &str = "2026-11-21";

/// Generate man pages and completions from the programs' clap definitions
#[derive(Debug, Parser)]
pub struct Args {
    /// Compare instead of writing; exit 1 when a generated file is stale
    #[arg(long)]
    pub check: bool,
    /// The repository root (default: the one this tool was built from,
    /// wherever cargo is run)
    #[arg(long)]
    pub repo: Option<PathBuf>,
}

/// The programs with a man page and completions, and their clap definitions.
pub fn programs() -> Vec<(clap::Command, &'static str)> {
    vec![
        (cli::clpalert::Args::command(), "8"),
        (cli::clpcfctrl::Args::command(), "8"),
        (cli::clpcfget::Args::command(), "8"),
        (cli::clpcfset::Args::command(), "8"),
        (cli::clpcl::Args::command(), "8"),
        (cli::clpd::Args::command(), "8"),
        (cli::clpdown::Args::command(), "8"),
        (cli::clpgrp::Args::command(), "8"),
        (cli::clplogcc::Args::command(), "8"),
        (cli::clplogcmd::Args::command(), "8"),
        (cli::clpmonctrl::Args::command(), "8"),
        (cli::clprexec::Args::command(), "8"),
        (cli::clprsc::Args::command(), "8"),
        (cli::clpstat::Args::command(), "8"),
        (cli::clpstdn::Args::command(), "8"),
    ]
}

impl Args {
    /// Writes (or with `--check` compares) every generated file; the message
    /// to print on success.
    pub fn run(self) -> Result<Option<String>> {
        let repo = self.repo.clone().unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        });
        let mut outputs: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        let man = repo.join("man");
        for (cmd, section) in programs() {
            let name = cmd.get_name().to_string();
            let template = man.join("src").join(format!("{name}.{section}.in"));
            let page = render_page(&template, Some(cmd.clone()), section)?;
            outputs.push((man.join(format!("{name}.{section}")), page.into_bytes()));
            for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
                let mut buf = Vec::new();
                clap_complete::generate(shell, &mut cmd.clone(), name.clone(), &mut buf);
                let file = match shell {
                    Shell::Bash => format!("bash/{name}"),
                    Shell::Zsh => format!("zsh/_{name}"),
                    _ => format!("fish/{name}.fish"),
                };
                outputs.push((repo.join("completions").join(file), buf));
            }
        }
        for (page, section) in [
            ("clp.conf", "5"),
            ("clp-exit-codes", "7"),
            ("clp-scripts", "7"),
        ] {
            let template = man.join("src").join(format!("{page}.{section}.in"));
            let text = render_page(&template, None, section)?;
            outputs.push((man.join(format!("{page}.{section}")), text.into_bytes()));
        }

        let mut stale = Vec::new();
        for (path, bytes) in &outputs {
            if self.check {
                if fs::read(path).ok().as_deref() != Some(bytes.as_slice()) {
                    stale.push(path.display().to_string());
                }
            } else {
                if let Some(dir) = path.parent() {
                    fs::create_dir_all(dir).map_err(|e| ClpError::io("cannot create", dir, e))?;
                }
                fs::write(path, bytes).map_err(|e| ClpError::io("cannot write", path, e))?;
            }
        }
        if !stale.is_empty() {
            return Err(ClpError::failed(format!(
                "generated files are stale; run `cargo xtask gen` and commit:\n{}",
                stale.join("\n")
            )));
        }
        Ok((!self.check).then(|| format!("wrote {} files", outputs.len())))
    }
}

/// clp's version, as its programs print it with `--version` (this crate's
/// own version is not clp's).
fn clp_version() -> String {
    cli::clpd::Args::command()
        .get_version()
        .unwrap_or("0")
        .to_string()
}

fn render_page(template: &Path, cmd: Option<clap::Command>, section: &str) -> Result<String> {
    let text =
        fs::read_to_string(template).map_err(|e| ClpError::io("cannot read", template, e))?;
    let mut out = String::new();
    for line in text.lines() {
        match line.trim() {
            "@TH@" => {
                let name = template
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.split('.').next())
                    .unwrap_or("clp");
                let title = if name == "clp" {
                    "clp.conf".to_string()
                } else {
                    name.to_string()
                };
                out.push_str(&format!(
                    ".TH {} {section} \"{MAN_DATE}\" \"clp {}\" \"clp manual\"\n",
                    title.to_uppercase(),
                    clp_version()
                ));
            }
            "@SYNOPSIS@" | "@OPTIONS@" => {
                let cmd = cmd.clone().ok_or_else(|| {
                    ClpError::new(
                        ErrorKind::Internal,
                        format!("{}: {line} needs a command", template.display()),
                    )
                })?;
                let man = clap_mangen::Man::new(cmd);
                let mut buf = Vec::new();
                let rendered = if line.trim() == "@SYNOPSIS@" {
                    man.render_synopsis_section(&mut buf)
                } else {
                    man.render_options_section(&mut buf)
                };
                rendered.map_err(|e| ClpError::new(ErrorKind::Internal, e.to_string()))?;
                out.push_str(&String::from_utf8_lossy(&buf));
            }
            "@EXIT_CODES@" => {
                out.push_str(".SH EXIT STATUS\n");
                for (code, meaning) in EXIT_CODES {
                    out.push_str(&format!(".TP\n.B {code}\n{meaning}\n"));
                }
            }
            "@PARAMETERS@" => out.push_str(&parameters()),
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    Ok(tidy(&out))
}

/// Trims trailing blanks and wraps long text lines (macro lines are left alone),
/// so generated pages pass `mandoc -Tlint` without style notes.
fn tidy(roff: &str) -> String {
    let mut out = String::with_capacity(roff.len());
    for line in roff.lines() {
        let line = line.trim_end();
        if line.starts_with('.') || line.len() < 80 {
            out.push_str(line);
            out.push('\n');
        } else {
            for part in wrap(line, 76) {
                out.push_str(&part);
                out.push('\n');
            }
        }
    }
    out
}

/// One `.SS` per scope, one `.TP` per element: path, default, accepted values, source.
fn parameters() -> String {
    let mut out = String::new();
    let mut current: Option<Scope> = None;
    for row in defaults::PARAMS {
        if current != Some(row.scope) {
            current = Some(row.scope);
            let title = match row.scope {
                Scope::Root => "Cluster-wide (paths from <root>)".to_string(),
                Scope::Server => "<server name>".to_string(),
                Scope::Group => "<group name>".to_string(),
                Scope::AnyResource => "Every group resource".to_string(),
                Scope::Resource(t) => format!("Resource type {t}"),
                Scope::AnyMonitor => "Every monitor".to_string(),
                Scope::Monitor(t) => format!("Monitor type {t}"),
                Scope::Heartbeat(t) => format!("Heartbeat type {t}"),
            };
            out.push_str(&format!(".SS {}\n", escape(&title)));
        }
        let default = match row.default {
            DefaultValue::Value("") => "empty".to_string(),
            DefaultValue::Value(v) => v.to_string(),
            DefaultValue::Derived(how) => format!("derived: {how}"),
            DefaultValue::Unset => "not set".to_string(),
            DefaultValue::Required => "required".to_string(),
        };
        let values = match row.kind {
            Kind::Int { min, max } => format!("{min}..{max}"),
            Kind::Flag => "0 or 1".to_string(),
            Kind::Choice(words) => words.join(", "),
            Kind::Code(codes) => codes
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            Kind::Text => "text".to_string(),
            Kind::Opaque => "kept as is, not interpreted".to_string(),
        };
        out.push_str(&format!(".TP\n.B {}\n", escape(row.path)));
        for sentence in [
            format!("Default: {default}."),
            format!("Values: {values}."),
            format!("Source: {}.", row.source),
        ] {
            for line in wrap(&sentence, 76) {
                out.push_str(&escape(&line));
                out.push('\n');
            }
        }
    }
    out
}

/// Splits text into lines of at most `width` bytes at spaces (mandoc's style
/// check wants input lines under 80 bytes).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Escapes text for roff: backslashes, and a leading dot or quote.
fn escape(text: &str) -> String {
    let t = text.replace('\\', "\\e").replace('-', "\\-");
    if t.starts_with('.') || t.starts_with('\'') {
        format!("\\&{t}")
    } else {
        t
    }
}
