//! `clpcfctrl --push` on a cluster of several servers: after the local
//! install, the same configuration (clp.conf, scripts, cluster key) goes to
//! every other server of the new clp.conf, each through this server's clpd
//! and Corosync (a [`Request::InstallConfig`] aimed with `-h`). Each target
//! checks and installs it itself, with the function a local push uses, and
//! reloads; one line per server says how it went.
//!
//! `-h HOST` aims at one other server: `--push -h HOST` checks the
//! directory here and installs it on HOST only (bringing one server in
//! line; this server's files stay as they are), `--pull -h HOST` writes
//! HOST's installed configuration into the directory.

use crate::config;
use crate::config::bundle;
use crate::error::{ClpError, ErrorKind, Result};
use crate::model::Cluster;
use crate::paths::Paths;
use crate::protocol::{ConfigBundle, Rejection, Reply, Request};

use super::{client, reply_text};

/// How long a target may take to install and apply the configuration (its
/// clpd waits up to 60 s for its own reload).
const DELIVERY_WAIT_SECS: u64 = 90;

/// What became of the configuration on one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Installed,
    /// Not a member of the cluster now (or Corosync is not reachable here,
    /// so none is), and `--force` said to go on.
    Skipped(String),
    Failed(ErrorKind, String),
}

/// What a push did beyond this server.
#[derive(Debug)]
pub enum Delivery {
    /// One server only: nothing to deliver.
    Alone,
    /// This server's clpd does not run, so the others cannot be reached.
    LocalOnly,
    /// Each other server and its outcome, in the order of clp.conf.
    Servers(Vec<(String, Outcome)>),
}

/// Sends the installed configuration to the servers of `model` other than
/// this one, all at once.
pub fn deliver(paths: &Paths, model: &Cluster, strict: bool, force: bool) -> Result<Delivery> {
    let others: Vec<String> = model
        .servers
        .iter()
        .map(|s| s.name.clone())
        .filter(|name| *name != model.local_server)
        .collect();
    if others.is_empty() {
        return Ok(Delivery::Alone);
    }
    match client::call(paths, &Request::Ping, 5) {
        Err(e) if e.kind == ErrorKind::NotRunning => return Ok(Delivery::LocalOnly),
        _ => {}
    }
    let packed = bundle::pack_installed(paths).map_err(|mut e| {
        e.message = format!(
            "the configuration is installed on this server, but cannot be sent to the others: {}",
            e.message
        );
        e
    })?;
    let request = Request::InstallConfig {
        bundle: ConfigBundle(packed),
        strict,
    };
    let outcomes = std::thread::scope(|scope| {
        let asked: Vec<_> = others
            .iter()
            .map(|server| {
                let request = &request;
                scope.spawn(move || {
                    client::call_at(paths, Some(server), request, DELIVERY_WAIT_SECS)
                })
            })
            .collect();
        asked
            .into_iter()
            .map(|handle| match handle.join() {
                Ok(answer) => outcome(answer, force),
                Err(_) => Outcome::Failed(ErrorKind::Internal, "the delivery thread failed".into()),
            })
            .collect::<Vec<_>>()
    });
    Ok(Delivery::Servers(
        others.into_iter().zip(outcomes).collect(),
    ))
}

/// How long `--pull -h HOST` waits for HOST's packed configuration.
const PULL_WAIT_SECS: u64 = 60;

/// Writes `host`'s installed configuration into `dest` (as a local pull does).
pub fn pull_from(paths: &Paths, host: &str, dest: &std::path::Path) -> Result<()> {
    match client::call_at(paths, Some(host), &Request::PullConfig, PULL_WAIT_SECS)? {
        Reply::Packed(packed) => bundle::unpack_pulled(&packed.0, dest),
        Reply::Rejected(rejection) => Err(reply_text::rejection_error(&rejection)),
        Reply::Done { .. } | Reply::Status(_) => Err(ClpError::new(
            ErrorKind::Internal,
            format!(
                "server {host} answered without its configuration; is its clp older than this one?"
            ),
        )),
    }
}

/// Checks the directory `dir` here for `host` and installs it on `host` only.
pub fn push_to(paths: &Paths, host: &str, dir: &std::path::Path, strict: bool) -> Result<Outcome> {
    let conf = dir.join(crate::paths::CONFIG_FILE);
    let scripts = dir.join(crate::paths::SCRIPTS_DIR);
    let label = conf.display().to_string();
    let checked = config::check_file(&conf, Some(&scripts), Some(host), &label)?;
    if let Some(model) = &checked.cluster
        && model.server(host).is_none()
    {
        return Err(ClpError::usage(format!(
            "-h {host}: not a server of {label}; a configuration goes only to its own servers"
        )));
    }
    if checked.report.is_refused(strict) || checked.cluster.is_none() {
        return Err(ClpError::config(format!(
            "{}nothing was sent to {host}",
            checked.report
        )));
    }
    let has_key = [dir.join(crate::paths::AUTHKEY_FILE), paths.authkey_file()]
        .iter()
        .any(|key| key.is_file());
    if !has_key {
        return Err(ClpError::usage(format!(
            "no cluster key in {} nor on this server: push the configuration on this server first \
             (it makes the key), then -h {host}",
            dir.display()
        )));
    }
    let packed = bundle::pack_dir(dir, &paths.authkey_file())?;
    let request = Request::InstallConfig {
        bundle: ConfigBundle(packed),
        strict,
    };
    Ok(outcome(
        client::call_at(paths, Some(host), &request, DELIVERY_WAIT_SECS),
        false,
    ))
}

/// The line of a push to other servers only (`-h HOST`): no line for this one.
pub fn remote_lines(servers: &[(String, Outcome)]) -> Vec<String> {
    lines("", servers).split_off(1)
}

/// As [`failure`], for a push that did not install anything on this server.
pub fn failure_on(servers: &[(String, Outcome)]) -> Option<ClpError> {
    let mut err = failure(servers)?;
    err.message = err.message.replacen(
        "the configuration was installed on this server but not on",
        "the configuration was not installed on",
        1,
    );
    Some(err)
}

fn outcome(answer: Result<Reply>, force: bool) -> Outcome {
    match answer {
        Ok(Reply::Done { .. }) => Outcome::Installed,
        Ok(Reply::Status(_) | Reply::Packed(_)) => Outcome::Failed(
            ErrorKind::Internal,
            "the server answered the install with its status".into(),
        ),
        Ok(Reply::Rejected(
            down @ (Rejection::ServerOffline { .. } | Rejection::ClusterUnavailable { .. }),
        )) if force => Outcome::Skipped(reply_text::rejection_text(&down)),
        Ok(Reply::Rejected(rejection)) => {
            Outcome::Failed(rejection.kind(), reply_text::rejection_text(&rejection))
        }
        Err(e) => Outcome::Failed(e.kind, e.message),
    }
}

/// The per-server lines of a push (this server first), in CLUSTERPRO's
/// words; a failure's text keeps only its first line, the whole of it goes
/// to the error.
pub fn lines(local: &str, servers: &[(String, Outcome)]) -> Vec<String> {
    let mut lines = vec![format!("file delivery to server {local} success.")];
    for (server, outcome) in servers {
        lines.push(match outcome {
            Outcome::Installed => format!("file delivery to server {server} success."),
            Outcome::Skipped(why) => format!(
                "file delivery to server {server} skipped: {}",
                first_line(why)
            ),
            Outcome::Failed(_, why) => format!(
                "file delivery to server {server} failed: {}",
                first_line(why)
            ),
        });
    }
    lines
}

/// The error a push ends with when a server did not get the configuration.
pub fn failure(servers: &[(String, Outcome)]) -> Option<ClpError> {
    let failed: Vec<(&String, &ErrorKind, &String)> = servers
        .iter()
        .filter_map(|(server, outcome)| match outcome {
            Outcome::Failed(kind, why) => Some((server, kind, why)),
            _ => None,
        })
        .collect();
    let (_, kind, _) = failed.first()?;
    let names: Vec<&str> = failed.iter().map(|(s, _, _)| s.as_str()).collect();
    let mut message = format!(
        "the configuration was installed on this server but not on {}:",
        names.join(", ")
    );
    for (server, _, why) in &failed {
        message.push_str(&format!("\n{server}: {}", why.trim_end()));
    }
    message.push_str(
        "\nfix what is said and push again; a server that is down gets the configuration with a push once it is up \
         (--force skips servers that are not members of the cluster)",
    );
    Some(ClpError::new(**kind, message))
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offline() -> Result<Reply> {
        Ok(Reply::Rejected(Rejection::ServerOffline {
            server: "node3".into(),
        }))
    }

    #[test]
    fn an_offline_server_fails_the_push_unless_forced() {
        assert!(
            matches!(outcome(offline(), false), Outcome::Failed(ErrorKind::State, why) if why.contains("Offline"))
        );
        assert!(
            matches!(outcome(offline(), true), Outcome::Skipped(why) if why.contains("Offline"))
        );
        let refused = Ok(Reply::Rejected(Rejection::Failed {
            kind: ErrorKind::Config,
            detail: "clp.conf:3: bad\nnothing was installed".into(),
        }));
        assert!(matches!(
            outcome(refused, true),
            Outcome::Failed(ErrorKind::Config, _)
        ));
        let no_corosync = || {
            Ok(Reply::Rejected(Rejection::ClusterUnavailable {
                reason: "not connected to Corosync yet".into(),
            }))
        };
        assert!(matches!(
            outcome(no_corosync(), false),
            Outcome::Failed(ErrorKind::NotRunning, _)
        ));
        assert!(matches!(outcome(no_corosync(), true), Outcome::Skipped(_)));
    }

    #[test]
    fn one_line_per_server_and_an_error_naming_each_failure() {
        let servers = vec![
            ("node2".to_string(), Outcome::Installed),
            (
                "node3".to_string(),
                Outcome::Failed(
                    ErrorKind::Config,
                    "clp.conf:3: bad\nnothing was installed".into(),
                ),
            ),
        ];
        assert_eq!(
            lines("node1", &servers),
            [
                "file delivery to server node1 success.",
                "file delivery to server node2 success.",
                "file delivery to server node3 failed: clp.conf:3: bad",
            ]
        );
        let err = failure(&servers).unwrap();
        assert_eq!(err.kind, ErrorKind::Config);
        assert!(
            err.message
                .contains("not on node3:\nnode3: clp.conf:3: bad\nnothing was installed"),
            "{}",
            err.message
        );
        assert!(failure(&servers[..1]).is_none());
    }
}
