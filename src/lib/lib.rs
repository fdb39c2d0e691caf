//! clp: a high-availability supervisor compatible with CLUSTERPRO X SingleServerSafe.
//!
//! The binaries in `src/bin/` are thin: each calls [`cli::main`] with its own
//! argument type. Everything else lives here; see ARCHITECTURE.md for the map.

pub mod alert;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod engine;
pub mod error;
pub mod exec;
pub mod fsafe;
pub mod host;
pub mod ipc;
pub mod log;
pub mod logcc;
pub mod model;
pub mod monitor;
pub mod panics;
pub mod paths;
pub mod pidfile;
pub mod protocol;
pub mod status;
pub mod vocab;

pub use error::{ClpError, ErrorKind, Result};
