//! `cargo xtask <task>`: clp's development tasks. Not a shipped program: the
//! packages and `cargo install` carry the user commands only.
//!
//! * `cargo xtask gen`: regenerates `man/` and `completions/` from the
//!   programs' clap definitions and the hand-written `man/src/*.in`;
//! * `cargo xtask gen --check`: fails when a committed file is stale (CI).

mod docgen;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// clp's development tasks
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
struct Xtask {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    Gen(docgen::Args),
}

fn main() -> ExitCode {
    let Xtask { task } = Xtask::parse();
    let result = match task {
        Task::Gen(args) => args.run(),
    };
    match result {
        Ok(message) => {
            if let Some(message) = message {
                println!("{message}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cargo xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}
