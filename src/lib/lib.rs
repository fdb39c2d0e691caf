//! clp: a high-availability supervisor compatible with CLUSTERPRO X SingleServerSafe.
//!
//! The binaries in `src/bin/` are thin: each calls [`cli::main`] with its own
//! argument type. Everything else lives here. The map of the house (layers,
//! data flow, the engine core, where a new resource kind, monitor kind or
//! transport goes) is `ARCHITECTURE.md` at the root of the repository.

pub mod alert;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod daemon;
pub mod disk;
pub mod engine;
pub mod error;
pub mod exec;
pub mod fsafe;
pub mod host;
pub mod ipc;
pub mod log;
pub mod logcc;
pub mod metrics;
pub mod model;
pub mod monitor;
pub mod netaddr;
pub mod panics;
pub mod paths;
pub mod pidfile;
pub mod protocol;
pub mod remote;
pub mod rest;
pub mod status;
pub mod timetext;
pub mod vocab;

pub use error::{ClpError, ErrorKind, Result};
