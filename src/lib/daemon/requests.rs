//! What the clp programs ask over the socket, and the configuration reload.
//!
//! The one place where the protocol meets the engine: [`route`] turns a
//! protocol request into an engine command (or work of the daemon's own), and
//! [`to_reply`] turns the engine's answer into a protocol reply.

use super::*;
use crate::engine::{Object, Rejection as EngineRejection, Reply as EngineReply};
use crate::protocol::{Activity, MonitorOp, ObjectKind, Rejection, Settled};

/// Where a request goes.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Ping,
    Status,
    Reload,
    Monitor {
        op: MonitorOp,
        monitors: Vec<String>,
    },
    Engine(Command),
    RunScript {
        name: String,
        timeout_secs: u64,
    },
    Notice {
        what: String,
        from: String,
    },
    /// A configuration pushed from another server.
    InstallConfig {
        bundle: crate::protocol::ConfigBundle,
        strict: bool,
    },
    /// A clplogcc archive of the server named (maybe this one).
    CollectLogs {
        server: String,
        kind: String,
        syslog_generations: u32,
    },
    /// The installed configuration, packed.
    PullConfig,
    /// clprexec --failover.
    Failover {
        group: String,
    },
    /// For the server named (maybe this one).
    On {
        server: String,
        request: Request,
        wait_secs: u64,
    },
}

fn route(request: Request) -> Route {
    Route::Engine(match request {
        Request::Ping => return Route::Ping,
        Request::Status => return Route::Status,
        Request::Reload => return Route::Reload,
        Request::Monitor { op, monitors } => return Route::Monitor { op, monitors },
        Request::RunScript { name, timeout_secs } => {
            return Route::RunScript { name, timeout_secs };
        }
        Request::Notice { what, from } => return Route::Notice { what, from },
        Request::InstallConfig { bundle, strict } => {
            return Route::InstallConfig { bundle, strict };
        }
        Request::CollectLogs {
            server,
            kind,
            syslog_generations,
        } => {
            return Route::CollectLogs {
                server,
                kind,
                syslog_generations,
            };
        }
        Request::PullConfig => return Route::PullConfig,
        Request::On {
            server,
            request,
            wait_secs,
        } => {
            return Route::On {
                server,
                request: *request,
                wait_secs,
            };
        }
        Request::StartService => Command::StartService,
        Request::StopService { factor, then } => Command::StopService { factor, then },
        Request::Suspend => Command::Suspend,
        Request::Resume => Command::Resume,
        Request::StartGroup { group } => Command::StartGroup { group },
        Request::StopGroup { group } => Command::StopGroup { group },
        Request::MoveGroup { group, dest } => Command::MoveGroup { group, dest },
        // One server: the group starts here (there is nowhere else to go);
        // several: see `placement`.
        Request::FailoverGroup { group } => return Route::Failover { group },
        Request::StartResource { resource, force } => Command::StartResource { resource, force },
        Request::StopResource { resource, force } => Command::StopResource { resource, force },
    })
}

/// The engine's answer as the protocol says it.
pub(super) fn to_reply(reply: EngineReply) -> Reply {
    match reply {
        Ok(note) => Reply::Done { note },
        Err(why) => Reply::Rejected(to_rejection(why)),
    }
}

fn to_rejection(why: EngineRejection) -> Rejection {
    let object_kind = |object: Object| match object {
        Object::Group => ObjectKind::Group,
        Object::Resource => ObjectKind::Resource,
        Object::Server => ObjectKind::Server,
    };
    match why {
        EngineRejection::ServiceNotRunning => Rejection::NotRunning,
        EngineRejection::ServiceStopping => Rejection::Busy {
            what: Activity::ServiceStopping,
        },
        EngineRejection::Unknown {
            object,
            name,
            known,
        } => Rejection::unknown(object_kind(object), name, known),
        EngineRejection::GroupBusy { group, state } => Rejection::Busy {
            what: Activity::Group { name: group, state },
        },
        EngineRejection::Already {
            object,
            name,
            online,
        } => Rejection::AlreadyInState {
            object: object_kind(object),
            name,
            state: if online {
                Settled::Online
            } else {
                Settled::Offline
            },
        },
        EngineRejection::AlreadyOnServer { group, server } => Rejection::AlreadyInState {
            object: ObjectKind::Group,
            name: group,
            state: Settled::OnServer { server },
        },
        EngineRejection::NoDestination { group, servers } => {
            Rejection::NoDestination { group, servers }
        }
        EngineRejection::DependenciesOffline {
            resource,
            dependencies,
        } => Rejection::DependenciesOffline {
            resource,
            dependencies,
        },
        EngineRejection::DependentsActive {
            resource,
            dependents,
        } => Rejection::DependentsActive {
            resource,
            dependents,
        },
        EngineRejection::Failed { detail } => Rejection::Failed {
            kind: ErrorKind::Failed,
            detail,
        },
    }
}

impl Daemon {
    pub(super) fn request(&mut self, request: Request, reply: Sender<Reply>) {
        let cmd = match route(request) {
            Route::Ping => {
                let _ = reply.send(Reply::Done {
                    note: format!(
                        "clpd {} (pid {})",
                        script::version_full(),
                        std::process::id()
                    ),
                });
                return;
            }
            Route::Status => {
                let answer = self.published_status();
                let _ = reply.send(answer);
                return;
            }
            Route::Reload => {
                // The answer says whether the new configuration is the running
                // one: clpcfctrl --push puts the previous files back when it is not.
                let answer = match self.reload() {
                    Ok(note) => Reply::Done { note },
                    Err(e) => {
                        warn!(target: "pm", "reload refused, the running configuration is kept: {e}");
                        Reply::Rejected(Rejection::ReloadRefused {
                            kind: e.kind,
                            detail: e.message.trim_end().to_string(),
                        })
                    }
                };
                // Answered after the batch, like every command: what it
                // changed is then in status.json.
                self.outbox.push((reply, answer));
                return;
            }
            Route::Monitor { op, monitors } => {
                let answer = self.monitor_request(op, monitors);
                self.outbox.push((reply, answer));
                return;
            }
            Route::RunScript { name, timeout_secs } => {
                self.run_requested_script(name, timeout_secs, reply);
                return;
            }
            Route::Notice { what, from } => {
                let answer = self.notice(&what, &from);
                self.outbox.push((reply, answer));
                return;
            }
            Route::InstallConfig { bundle, strict } => {
                self.install_config(bundle, strict, reply);
                return;
            }
            Route::CollectLogs {
                server,
                kind,
                syslog_generations,
            } => {
                self.collect_logs(server, kind, syslog_generations, reply);
                return;
            }
            Route::PullConfig => {
                self.pull_config(reply);
                return;
            }
            Route::On {
                server,
                request,
                wait_secs,
            } => {
                self.request_on(server, request, wait_secs, reply);
                return;
            }
            Route::Failover { group } if self.cluster.is_some() => {
                self.placement_failover(group, reply);
                return;
            }
            Route::Failover { group } => Command::StartGroup { group },
            Route::Engine(Command::StartService) => {
                self.start_service(Some(reply));
                return;
            }
            Route::Engine(cmd) => cmd,
        };
        if matches!(cmd, Command::StopService { .. }) {
            self.cancel_sync_wait();
        }
        // A server running another configuration than the cluster's starts nothing.
        if let Some(refusal) = self.config_refusal(&cmd) {
            warn!(target: "rc", "command refused: {cmd:?}: this server's configuration differs from the cluster's");
            self.outbox.push((reply, Reply::Rejected(refusal)));
            return;
        }
        // With several servers a group starts where its claim is accepted.
        let Some((cmd, reply)) = self.placement_command(cmd, reply) else {
            return;
        };
        let req = self.next_req;
        self.next_req += 1;
        self.replies.insert(req, reply);
        info!(target: "rc", "command: {cmd:?}");
        self.core.push(CoreInput::Operator { req, cmd });
    }

    /// clpmonctrl's requests: checked names, then straight to the monitors.
    pub(super) fn monitor_request(&mut self, op: MonitorOp, monitors: Vec<String>) -> Reply {
        let model = self.core.model().clone();
        let unknown: Vec<String> = monitors
            .iter()
            .filter(|m| model.monitor(m).is_none())
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Reply::Rejected(Rejection::Unknown {
                object: ObjectKind::Monitor,
                names: unknown,
                known: model.monitors.iter().map(|m| m.name.clone()).collect(),
            });
        }
        let input = match op {
            MonitorOp::Suspend => MonInput::Suspend { monitors },
            MonitorOp::Resume => MonInput::Resume { monitors },
            MonitorOp::ClearCounters => MonInput::ClearCounters { monitors },
            MonitorOp::DummyFailureOn | MonitorOp::DummyFailureOff => {
                let on = op == MonitorOp::DummyFailureOn;
                if on && monitors.len() != 1 {
                    return Reply::Rejected(Rejection::Invalid {
                        reason: "dummy failure is enabled for one monitor at a time: -e -m NAME"
                            .into(),
                    });
                }
                MonInput::DummyFailure {
                    monitor: monitors.into_iter().next(),
                    on,
                }
            }
        };
        info!(target: "rm", "clpmonctrl: {input:?}");
        self.core.push(input);
        Reply::Done {
            note: "done".into(),
        }
    }

    /// A command of clpd itself (a signal, a start after a restart); queued
    /// for the engine core like every other input.
    pub(super) fn command(&mut self, cmd: Command) {
        info!(target: "rc", "command: {cmd:?}");
        self.core.push(Input::Command { req: None, cmd });
    }

    /// Re-reads the installed configuration and applies it.
    pub(super) fn reload(&mut self) -> Result<String> {
        // What was asked before the reload is decided against the running
        // configuration first (a group being started is then no longer
        // offline, which the reload's checks must see).
        self.drain();
        let local = self.core.model().local_server.clone();
        let (model, digest) = load_config(&self.paths, &local)?;
        // Validation only warns when this server is not in the file and falls
        // back to the first <server>; a running clpd cannot become another server.
        if model.local_server != local {
            return Err(ClpError::new(
                ErrorKind::State,
                format!(
                    "the new configuration has no server {local} (this server; its first server is {}): clpd cannot change its server name while running; stop clpd (systemctl stop clp), install the configuration, then start clpd",
                    model.local_server
                ),
            ));
        }
        let model = Arc::new(model);
        match self.core.reload(model, self.time()) {
            Ok(effects) => {
                self.config_digest = digest;
                // A monitor of the same name may now be of another type.
                self.check_metrics.clear();
                self.carry_out(effects);
                self.follow_reloaded_servers();
                self.placement_reloaded();
                info!(target: "pm", "the configuration was reloaded");
                Ok("the configuration was reloaded".into())
            }
            Err(why) => Err(ClpError::new(ErrorKind::State, why)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_requests_become_the_same_commands() {
        let pairs = [
            (Request::StartService, Command::StartService),
            (
                Request::StopService {
                    factor: StopFactor::ServerShutdown,
                    then: Some(OsAction::Reboot),
                },
                Command::StopService {
                    factor: StopFactor::ServerShutdown,
                    then: Some(OsAction::Reboot),
                },
            ),
            (Request::Suspend, Command::Suspend),
            (Request::Resume, Command::Resume),
            (
                Request::StartGroup { group: "g".into() },
                Command::StartGroup { group: "g".into() },
            ),
            (
                Request::StopGroup { group: "g".into() },
                Command::StopGroup { group: "g".into() },
            ),
            (
                Request::MoveGroup {
                    group: "g".into(),
                    dest: Some("n".into()),
                },
                Command::MoveGroup {
                    group: "g".into(),
                    dest: Some("n".into()),
                },
            ),
            (
                Request::StartResource {
                    resource: "r".into(),
                    force: true,
                },
                Command::StartResource {
                    resource: "r".into(),
                    force: true,
                },
            ),
            (
                Request::StopResource {
                    resource: "r".into(),
                    force: false,
                },
                Command::StopResource {
                    resource: "r".into(),
                    force: false,
                },
            ),
        ];
        for (request, command) in pairs {
            assert_eq!(route(request), Route::Engine(command));
        }
        assert_eq!(route(Request::Ping), Route::Ping);
        assert_eq!(route(Request::Reload), Route::Reload);
    }

    #[test]
    fn engine_rejections_become_protocol_rejections_of_the_same_kind() {
        let cases = [
            (EngineRejection::ServiceNotRunning, Rejection::NotRunning),
            (
                EngineRejection::Already {
                    object: Object::Resource,
                    name: "r".into(),
                    online: false,
                },
                Rejection::AlreadyInState {
                    object: ObjectKind::Resource,
                    name: "r".into(),
                    state: Settled::Offline,
                },
            ),
            (
                EngineRejection::AlreadyOnServer {
                    group: "g".into(),
                    server: "n".into(),
                },
                Rejection::AlreadyInState {
                    object: ObjectKind::Group,
                    name: "g".into(),
                    state: Settled::OnServer { server: "n".into() },
                },
            ),
            (
                EngineRejection::Unknown {
                    object: Object::Server,
                    name: "x".into(),
                    known: vec!["n".into()],
                },
                Rejection::unknown(ObjectKind::Server, "x", vec!["n".into()]),
            ),
            (
                EngineRejection::GroupBusy {
                    group: "g".into(),
                    state: None,
                },
                Rejection::Busy {
                    what: Activity::Group {
                        name: "g".into(),
                        state: None,
                    },
                },
            ),
            (
                EngineRejection::Failed {
                    detail: "it broke".into(),
                },
                Rejection::Failed {
                    kind: ErrorKind::Failed,
                    detail: "it broke".into(),
                },
            ),
        ];
        for (engine, protocol) in cases {
            assert_eq!(to_reply(Err(engine)), Reply::Rejected(protocol));
        }
        assert_eq!(
            to_reply(Ok("started".into())),
            Reply::Done {
                note: "started".into()
            }
        );
    }
}
