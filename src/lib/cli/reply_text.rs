//! clpd's replies in CLUSTERPRO's words: the one place where a typed
//! [`Rejection`] becomes the text an operator reads, and its exit code.

use crate::error::ClpError;
use crate::protocol::{Activity, NoAnswerCause, ObjectKind, Rejection, Reply, Settled};

/// The text of a rejection, as the commands print it after `error: `.
pub fn rejection_text(rejection: &Rejection) -> String {
    match rejection {
        Rejection::AlreadyInState {
            object,
            name,
            state: Settled::Online,
        } => format!("{} {name} is already online", noun(*object)),
        Rejection::AlreadyInState {
            object,
            name,
            state: Settled::Offline,
        } => format!("{} {name} is already offline", noun(*object)),
        Rejection::AlreadyInState {
            object,
            name,
            state: Settled::OnServer { server },
        } => format!(
            "{} {name} is already on server {server}; there is no other server to move it to",
            capitalised(noun(*object))
        ),
        Rejection::Unknown {
            object,
            names,
            known,
        } => format!(
            "Invalid {} name: {}. {} are: {}",
            noun(*object),
            names.join(", "),
            plural(*object),
            known.join(", ")
        ),
        Rejection::Busy {
            what: Activity::ServiceStopping,
        } => "the cluster service is stopping; try again when it is stopped".into(),
        Rejection::Busy {
            what: Activity::Group { name, state },
        } => match state {
            Some(state) => format!(
                "group {name} is busy ({}); try again when it has settled",
                state.as_str()
            ),
            None => format!("group {name} is busy; try again when it has settled"),
        },
        Rejection::ConfigDiffers { servers } => format!(
            "the configuration (clp.conf) of {} differs from the cluster's: no group starts there until `clpcfctrl --push` brings it in line",
            servers.join(", ")
        ),
        Rejection::NotRunning => {
            "the cluster service is not running; start it with clpcl -s".into()
        }
        Rejection::NoDestination { group, servers } => match servers.as_slice() {
            [only] => format!(
                "There is no appropriate destination for group {group}: this cluster has one server ({only})"
            ),
            _ => format!(
                "There is no appropriate destination for group {group}: no other server of {} can take it",
                servers.join(", ")
            ),
        },
        Rejection::DependenciesOffline {
            resource,
            dependencies,
        } => format!(
            "resource {resource} depends on {}, which is not online; start it first or use -f",
            dependencies.join(", ")
        ),
        Rejection::DependentsActive {
            resource,
            dependents,
        } => format!(
            "{} depend(s) on resource {resource} and is not offline; stop it first or use -f",
            dependents.join(", ")
        ),
        Rejection::Invalid { reason } => reason.clone(),
        Rejection::NotAllowed => "only root (or clpd's own user) may send commands to clpd".into(),
        Rejection::Version { daemon, client } => format!(
            "clpd speaks protocol version {daemon}, this program {}: the clp programs and clpd are of different versions; restart clpd after an upgrade",
            client.map_or("none".to_string(), |v| v.to_string())
        ),
        Rejection::ReloadRefused { detail, .. } => {
            format!("{detail}; clpd keeps running the previous configuration")
        }
        Rejection::Failed { detail, .. } => detail.clone(),
        Rejection::ServerOffline { server } => format!(
            "server {server} is not a member of the cluster now (Offline); nothing was sent to it"
        ),
        Rejection::NoAnswer {
            server,
            cause: NoAnswerCause::Deadline { secs },
        } => format!(
            "server {server} did not answer within {secs} s; whether the request was carried out is unknown (see clpstat)"
        ),
        Rejection::NoAnswer {
            server,
            cause: NoAnswerCause::Left,
        } => format!(
            "server {server} left the cluster before answering; whether the request was carried out is unknown (see clpstat)"
        ),
        Rejection::NoAnswer {
            server,
            cause: NoAnswerCause::NotSent,
        } => format!(
            "the request for server {server} could not be sent (Corosync is busy or unreachable on this server); nothing was carried out"
        ),
        Rejection::ClusterUnavailable { reason } => format!(
            "cannot reach the other servers: Corosync is not reachable on this server ({reason}); start it with clpcl -s"
        ),
    }
}

/// A rejection as the error a command exits with.
pub fn rejection_error(rejection: &Rejection) -> ClpError {
    ClpError::new(rejection.kind(), rejection_text(rejection))
}

/// The note of a carried-out request, or the error of a rejected one.
pub fn into_result(reply: Reply) -> crate::error::Result<String> {
    match reply {
        Reply::Done { note } => Ok(note),
        // Only Request::Status is answered so; it has no note.
        Reply::Status(_) | Reply::Packed(_) => Ok(String::new()),
        Reply::Rejected(rejection) => Err(rejection_error(&rejection)),
    }
}

fn noun(object: ObjectKind) -> &'static str {
    match object {
        ObjectKind::Group => "group",
        ObjectKind::Resource => "resource",
        ObjectKind::Monitor => "monitor resource",
        ObjectKind::Server => "server",
        ObjectKind::Script => "script",
    }
}

fn plural(object: ObjectKind) -> &'static str {
    match object {
        ObjectKind::Group => "Groups",
        ObjectKind::Resource => "Resources",
        ObjectKind::Monitor => "Monitors",
        ObjectKind::Server => "Servers",
        ObjectKind::Script => "Scripts",
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
