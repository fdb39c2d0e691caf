#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Integration tests of clp (one test crate).
//!
//! Programs are run as real processes (`CARGO_BIN_EXE_*`), each test in its own
//! temporary directory used as `CLP_ROOT`; nothing touches the real `/etc`.
//! Fixtures live in `tests/fixtures/`: valid configurations at the top level,
//! one broken rule per directory under `invalid/`.

mod alerts;
mod cdp;
mod clpcfget;
mod clpcfset;
mod clpstat;
mod cluster;
mod cluster_config;
mod config_check;
mod corpus;
mod daemon;
mod daemon_commands;
mod daemon_failures;
mod daemon_rejections;
mod daemon_restart;
mod disk_resource;
mod examples;
mod faults;
mod faults_logs;
mod fip;
mod fip_cases;
mod fip_move;
mod hardening;
mod layers;
mod logs;
mod mail;
mod mail_server;
mod monitor;
mod monitor_ctl;
mod monitor_db;
mod monitor_genw;
mod monitor_psw_mtw;
mod monitor_recovery;
mod monitor_sysres;
mod monitor_system_io;
mod monitor_system_net;
mod publish;
mod push_pull;
mod push_safety;
mod rest;
mod rest_measure;
mod rest_metrics;
mod rest_security;
mod roundtrip;
mod script_containment;
mod script_env;
mod tables;
mod util;
mod web_page;
