//! What the clp programs ask over the socket, and the configuration reload.

use super::*;

impl Daemon {
    pub(super) fn request(&mut self, request: Request, reply: Sender<Response>) {
        let req = self.next_req;
        self.next_req += 1;
        let cmd = match request {
            Request::Ping => {
                let _ = reply.send(Response::Ok {
                    message: format!(
                        "clpd {} (pid {})",
                        script::version_full(),
                        std::process::id()
                    ),
                });
                return;
            }
            Request::Reload => {
                // The answer says whether the new configuration is the running
                // one: clpcfctrl --push puts the previous files back when it is not.
                let response = match self.reload() {
                    Ok(m) => Response::Ok { message: m },
                    Err(e) => {
                        warn!(target: "pm", "reload refused, the running configuration is kept: {e}");
                        Response::Err {
                            kind: e.kind,
                            message: format!(
                                "{}; clpd keeps running the previous configuration",
                                e.message.trim_end()
                            ),
                        }
                    }
                };
                let _ = reply.send(response);
                return;
            }
            Request::Monitor { op, monitors } => {
                let _ = reply.send(self.monitor_request(op, monitors));
                return;
            }
            Request::StartService => Command::StartService,
            Request::StopService { factor, then } => Command::StopService { factor, then },
            Request::Suspend => Command::Suspend,
            Request::Resume => Command::Resume,
            Request::StartGroup { group } => Command::StartGroup { group },
            Request::StopGroup { group } => Command::StopGroup { group },
            Request::MoveGroup { group, dest } => Command::MoveGroup { group, dest },
            Request::StartResource { resource, force } => {
                Command::StartResource { resource, force }
            }
            Request::StopResource { resource, force } => Command::StopResource { resource, force },
        };
        self.replies.insert(req, reply);
        info!(target: "rc", "command: {cmd:?}");
        self.core.push(CoreInput::Operator { req, cmd });
    }

    /// clpmonctrl's requests: checked names, then straight to the monitors.
    pub(super) fn monitor_request(
        &mut self,
        op: ipc::MonitorOp,
        monitors: Vec<String>,
    ) -> Response {
        let model = self.core.model().clone();
        let unknown: Vec<&String> = monitors
            .iter()
            .filter(|m| model.monitor(m).is_none())
            .collect();
        if !unknown.is_empty() {
            let names: Vec<&str> = model.monitors.iter().map(|m| m.name.as_str()).collect();
            return Response::Err {
                kind: ErrorKind::NotFound,
                message: format!(
                    "Invalid monitor resource name: {}. Monitors are: {}",
                    unknown
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    names.join(", ")
                ),
            };
        }
        let input = match op {
            ipc::MonitorOp::Suspend => MonInput::Suspend { monitors },
            ipc::MonitorOp::Resume => MonInput::Resume { monitors },
            ipc::MonitorOp::ClearCounters => MonInput::ClearCounters { monitors },
            ipc::MonitorOp::DummyFailureOn | ipc::MonitorOp::DummyFailureOff => {
                let on = op == ipc::MonitorOp::DummyFailureOn;
                if on && monitors.len() != 1 {
                    return Response::Err {
                        kind: ErrorKind::Usage,
                        message: "dummy failure is enabled for one monitor at a time: -e -m NAME"
                            .into(),
                    };
                }
                MonInput::DummyFailure {
                    monitor: monitors.into_iter().next(),
                    on,
                }
            }
        };
        info!(target: "rm", "clpmonctrl: {input:?}");
        self.core.push(input);
        Response::Ok {
            message: "done".into(),
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
        match self.core.reload(model, self.clock()) {
            Ok(effects) => {
                self.config_digest = digest;
                self.carry_out(effects);
                info!(target: "pm", "the configuration was reloaded");
                Ok("the configuration was reloaded".into())
            }
            Err(why) => Err(ClpError::new(ErrorKind::State, why)),
        }
    }
}
