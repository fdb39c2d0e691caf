//! The command harness every clp program runs through, and one module per program.
//!
//! [`main`] does, in order: parse the arguments with clap, set up logging, build
//! the [`Ctx`], call the program's [`Program::run`], print an error once as
//! `<program>: error: <message>` and turn it into the exit code of the table in
//! [`crate::error`]. A closed stdout (`clpstat | head`) is success, not an error.

pub mod client;
pub mod clpalert;
pub mod clpcfctrl;
pub mod clpcfctrl_deliver;
pub mod clpcfget;
pub mod clpcfset;
pub mod clpcl;
pub mod clpcl_servers;
pub mod clpd;
pub mod clpdown;
pub mod clpgrp;
pub mod clplogcc;
pub mod clplogcmd;
pub mod clpmonctrl;
pub mod clprexec;
pub mod clprsc;
pub mod clpstat;
pub mod clpstdn;
pub mod launch;
pub mod reply_text;
pub mod table;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

use crate::error::{ClpError, Result};
use crate::paths::Paths;

/// The environment variable that sets the log level of the commands
/// (`error`, `warn`, `info`, `debug`, `trace`; default `warn`).
pub const LOG_ENV: &str = "CLP_LOG";

/// A clp program: its arguments (clap) and what it does with them.
pub trait Program: Parser {
    /// Runs the program. Returns the exit code on success (normally 0).
    fn run(self, ctx: &mut Ctx) -> Result<u8>;

    /// True when the program installs its own logging (the daemon writes module
    /// logs); the harness then leaves logging alone.
    fn own_logging(&self) -> bool {
        false
    }
}

/// What every program gets: the layout and its output streams.
pub struct Ctx {
    pub paths: Paths,
    pub program: String,
    out: io::Stdout,
    err: io::Stderr,
}

impl Ctx {
    pub fn new(program: impl Into<String>, paths: Paths) -> Self {
        Ctx {
            paths,
            program: program.into(),
            out: io::stdout(),
            err: io::stderr(),
        }
    }

    /// Writes `text` to stdout as is.
    pub fn print(&mut self, text: &str) -> Result<()> {
        let mut out = self.out.lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(ClpError::output)
    }

    /// Writes one line to stdout.
    pub fn println(&mut self, line: &str) -> Result<()> {
        let mut out = self.out.lock();
        writeln!(out, "{line}")
            .and_then(|()| out.flush())
            .map_err(ClpError::output)
    }

    /// Writes text to stderr (warnings, notes). Failures to write are ignored:
    /// there is nowhere left to report them.
    pub fn eprint(&mut self, text: &str) {
        let _ = self.err.write_all(text.as_bytes());
    }

    /// Writes a `<program>: warning: ...` line to stderr.
    pub fn warn(&mut self, message: &str) {
        let line = format!("{}: warning: {message}\n", self.program);
        self.eprint(&line);
    }
}

/// Runs program `P` and returns its exit code. Each `src/bin/*.rs` is one call.
pub fn main<P: Program>() -> ExitCode {
    let command = P::command();
    let program = command.get_name().to_string();
    let args = match P::try_parse() {
        Ok(args) => args,
        Err(e) => return clap_error(&program, &e),
    };
    if !args.own_logging() {
        init_logging();
    }
    let mut ctx = Ctx::new(program.clone(), Paths::from_env());
    match args.run(&mut ctx) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if !e.broken_pipe {
                report_error(&program, &e);
            }
            ExitCode::from(e.exit_code())
        }
    }
}

/// Prints an error once, as `<program>: error: <message>`; a multi-line message
/// (a validation report) follows on its own lines.
pub fn report_error(program: &str, e: &ClpError) {
    let mut err = io::stderr().lock();
    let message = e.message.trim_end();
    let _ = match message.split_once('\n') {
        Some(_) => writeln!(err, "{program}: error:\n{message}"),
        None => writeln!(err, "{program}: error: {message}"),
    };
}

fn clap_error(program: &str, e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind as K;
    match e.kind() {
        K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = io::stdout().write_all(e.render().to_string().as_bytes());
            ExitCode::SUCCESS
        }
        _ => {
            let rendered = e.render().to_string();
            let _ = write!(io::stderr(), "{program}: {rendered}");
            ExitCode::from(crate::error::ErrorKind::Usage.exit_code())
        }
    }
}

fn init_logging() {
    use tracing::Level;
    let level = match std::env::var(LOG_ENV)
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "error" => Level::ERROR,
        "info" => Level::INFO,
        "debug" => Level::DEBUG,
        "trace" => Level::TRACE,
        _ => Level::WARN,
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(io::stderr)
        .with_ansi(false)
        .with_target(false)
        .try_init();
}

pub use crate::host::local_server_name;

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn commands_are_well_formed() {
        super::clpalert::Args::command().debug_assert();
        super::clpcfctrl::Args::command().debug_assert();
        super::clpcfget::Args::command().debug_assert();
        super::clpcfset::Args::command().debug_assert();
        super::clpcl::Args::command().debug_assert();
        super::clpd::Args::command().debug_assert();
        super::clpdown::Args::command().debug_assert();
        super::clpgrp::Args::command().debug_assert();
        super::clplogcc::Args::command().debug_assert();
        super::clplogcmd::Args::command().debug_assert();
        super::clpmonctrl::Args::command().debug_assert();
        super::clprsc::Args::command().debug_assert();
        super::clpstat::Args::command().debug_assert();
        super::clpstdn::Args::command().debug_assert();
        super::clprexec::Args::command().debug_assert();
    }
}
