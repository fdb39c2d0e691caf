//! The state machine of one group resource (exec).
//!
//! [`step`] is pure: given the state, an event, the resource's spec and the time,
//! it returns the next state and the effects to carry out. It handles what belongs
//! to the resource alone: running its scripts, activation and deactivation
//! retries, the stall deadline. What happens after the retries are used up
//! (failover, final action) is the group's business: the resource reports it.
//!
//! Every (state, event) pair is decided in one exhaustive match; an event that
//! does not belong to the current state (a late script result after a stall, a
//! start while starting) is ignored explicitly, never by a catch-all arm.

use std::time::Duration;

use super::{AlertRef, ClpEvent, Millis, OpId, StopFactor};
use crate::model::{ActivationPolicy, DeactivationPolicy};

pub use crate::vocab::AsyncPid;

/// Where a resource is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResState {
    Offline {
        since: Millis,
    },
    /// The start script runs (`attempt` 0 is the first try).
    Starting {
        op: OpId,
        attempt: u32,
        event: ClpEvent,
        since: Millis,
    },
    /// Started. `pid` is the asynchronous start script. It is kept after the
    /// script exits: pidw judges liveness by pid and start time, and stop.sh gets
    /// it as CLP_PID to clean up what is left of its process group.
    Online {
        event: ClpEvent,
        pid: Option<AsyncPid>,
        since: Millis,
    },
    /// The stop script runs.
    Stopping {
        op: OpId,
        attempt: u32,
        factor: StopFactor,
        event: ClpEvent,
        pid: Option<AsyncPid>,
        since: Millis,
    },
    /// Activation failed and its retries are used up. The first cause is kept.
    ActivationFailed {
        cause: String,
        since: Millis,
    },
    /// Deactivation failed and its retries are used up.
    DeactivationFailed {
        cause: String,
        event: ClpEvent,
        since: Millis,
    },
}

/// What happens to a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResEvent {
    /// Activate it.
    Start { event: ClpEvent },
    /// Deactivate it.
    Stop { factor: StopFactor },
    /// A synchronous script of operation `op` finished (`Err` holds why it failed).
    Done {
        op: OpId,
        result: Result<(), String>,
    },
    /// The asynchronous start script of `op` is running as `pid`.
    Spawned { op: OpId, pid: AsyncPid },
    /// The outer resource timeout of `op` expired (`act/timeout`, `deact/timeout`).
    Stalled { op: OpId },
    /// The asynchronous start script exited.
    AsyncExited { pid: u32 },
    /// Forget a failure: back to Offline (a new start or stop command).
    Reset,
}

/// What the resource asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResEffect {
    /// Run the start script for `op`; the result comes back as `Done` (synchronous)
    /// or `Spawned` (asynchronous). A stall timer fires `Stalled{op}` after `stall`.
    RunStart {
        op: OpId,
        event: ClpEvent,
        stall: Duration,
    },
    /// Run the stop script for `op`.
    RunStop {
        op: OpId,
        factor: StopFactor,
        event: ClpEvent,
        pid: Option<AsyncPid>,
        stall: Duration,
    },
    /// Stop watching the asynchronous start script (it is left running: CLUSTERPRO
    /// leaves stopping the application to stop.sh).
    ForgetAsync {
        pid: AsyncPid,
    },
    /// The script of `op` overran the outer timeout: kill its process group, so
    /// the next script never runs beside it.
    Abandon {
        op: OpId,
    },
    Alert(AlertRef),
    /// The outcome for the group.
    Report(ResReport),
}

/// Outcomes the group acts upon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResReport {
    Online,
    /// Activation failed after its retries.
    ActivationFailed {
        cause: String,
    },
    Offline,
    /// Deactivation failed after its retries.
    DeactivationFailed {
        cause: String,
    },
    /// The outer timeout expired while a script was still running.
    Stalled {
        activating: bool,
        cause: String,
    },
}

/// What the state machine needs to know about the resource.
#[derive(Debug, Clone)]
pub struct ResCtx<'a> {
    pub name: &'a str,
    pub activation: &'a ActivationPolicy,
    pub deactivation: &'a DeactivationPolicy,
    pub now: Millis,
    /// The next operation id to use (the caller advances it when used).
    pub next_op: OpId,
    /// Whether a failed start may be retried (not while the group or the service
    /// is being stopped: the stop wins).
    pub retry_allowed: bool,
}

/// What a script that overran its timeout leads to: abandon its operation
/// (its process group is killed), alert (rc 32 for a start, rc 42 for a
/// stop) and report the stall to the group.
fn stalled_effects(op: OpId, name: &str, activating: bool, cause: String) -> Vec<ResEffect> {
    let id = if activating { 32 } else { 42 };
    vec![
        ResEffect::Abandon { op },
        ResEffect::Alert(AlertRef::new("rc", id, &[name, "1", &cause])),
        ResEffect::Report(ResReport::Stalled { activating, cause }),
    ]
}

/// The state-machine step. Returns the next state, the effects, and whether
/// `ctx.next_op` was used.
pub fn step(
    state: &ResState,
    event: ResEvent,
    ctx: &ResCtx<'_>,
) -> (ResState, Vec<ResEffect>, bool) {
    use ResEvent as E;
    use ResState as S;
    let now = ctx.now;
    let start = |attempt: u32, ev: ClpEvent| {
        let op = ctx.next_op;
        (
            S::Starting {
                op,
                attempt,
                event: ev,
                since: now,
            },
            vec![
                ResEffect::Alert(AlertRef::new("rc", 30, &[ctx.name])),
                ResEffect::RunStart {
                    op,
                    event: ev,
                    stall: ctx.activation.timeout,
                },
            ],
            true,
        )
    };
    let stop = |attempt: u32, factor: StopFactor, ev: ClpEvent, pid: Option<AsyncPid>| {
        let op = ctx.next_op;
        (
            S::Stopping {
                op,
                attempt,
                factor,
                event: ev,
                pid,
                since: now,
            },
            vec![
                ResEffect::Alert(AlertRef::new("rc", 40, &[ctx.name])),
                ResEffect::RunStop {
                    op,
                    factor,
                    event: ev,
                    pid,
                    stall: ctx.deactivation.timeout,
                },
            ],
            true,
        )
    };
    let same = || (state.clone(), Vec::new(), false);

    match (state, event) {
        // ---- Offline -------------------------------------------------------
        (S::Offline { .. }, E::Start { event }) => start(0, event),
        (S::Offline { .. }, E::Stop { .. }) => (
            state.clone(),
            vec![ResEffect::Report(ResReport::Offline)],
            false,
        ),
        (S::Offline { .. }, E::Done { .. })
        | (S::Offline { .. }, E::Spawned { .. })
        | (S::Offline { .. }, E::Stalled { .. })
        | (S::Offline { .. }, E::AsyncExited { .. })
        | (S::Offline { .. }, E::Reset) => same(),

        // ---- Starting ------------------------------------------------------
        (
            S::Starting { op, event, .. },
            E::Done {
                op: done,
                result: Ok(()),
            },
        ) if *op == done => (
            S::Online {
                event: *event,
                pid: None,
                since: now,
            },
            vec![
                ResEffect::Alert(AlertRef::new("rc", 31, &[ctx.name])),
                ResEffect::Report(ResReport::Online),
            ],
            false,
        ),
        (
            S::Starting {
                op, attempt, event, ..
            },
            E::Done {
                op: done,
                result: Err(cause),
            },
        ) if *op == done => {
            let mut effects = vec![ResEffect::Alert(AlertRef::new(
                "rc",
                32,
                &[ctx.name, "1", &cause],
            ))];
            if *attempt < ctx.activation.retry && ctx.retry_allowed {
                effects.push(ResEffect::Alert(AlertRef::new(
                    "rc",
                    200,
                    &[ctx.name, ctx.name],
                )));
                let (next, more, used) = start(attempt + 1, *event);
                effects.extend(more);
                (next, effects, used)
            } else {
                effects.push(ResEffect::Report(ResReport::ActivationFailed {
                    cause: cause.clone(),
                }));
                (S::ActivationFailed { cause, since: now }, effects, false)
            }
        }
        (S::Starting { op, event, .. }, E::Spawned { op: done, pid }) if *op == done => (
            S::Online {
                event: *event,
                pid: Some(pid),
                since: now,
            },
            vec![
                ResEffect::Alert(AlertRef::new("rc", 31, &[ctx.name])),
                ResEffect::Report(ResReport::Online),
            ],
            false,
        ),
        (S::Starting { op, .. }, E::Stalled { op: stalled }) if *op == stalled => {
            let cause = format!(
                "the start script did not finish within {} s (act/timeout)",
                ctx.activation.timeout.as_secs()
            );
            (
                S::ActivationFailed {
                    cause: cause.clone(),
                    since: now,
                },
                stalled_effects(*op, ctx.name, true, cause),
                false,
            )
        }
        // A result of another (abandoned) operation, or a repeated command.
        (S::Starting { .. }, E::Done { .. })
        | (S::Starting { .. }, E::Spawned { .. })
        | (S::Starting { .. }, E::Stalled { .. })
        | (S::Starting { .. }, E::AsyncExited { .. })
        | (S::Starting { .. }, E::Start { .. })
        | (S::Starting { .. }, E::Reset) => same(),
        // Stopping while starting: let the start finish; the group stops it after.
        (S::Starting { .. }, E::Stop { .. }) => same(),

        // ---- Online --------------------------------------------------------
        (S::Online { event, pid, .. }, E::Stop { factor }) => stop(0, factor, *event, *pid),
        (S::Online { .. }, E::Start { .. })
        | (S::Online { .. }, E::Done { .. })
        | (S::Online { .. }, E::Spawned { .. })
        | (S::Online { .. }, E::Stalled { .. })
        | (S::Online { .. }, E::AsyncExited { .. })
        | (S::Online { .. }, E::Reset) => same(),

        // ---- Stopping ------------------------------------------------------
        (
            S::Stopping { op, pid, .. },
            E::Done {
                op: done,
                result: Ok(()),
            },
        ) if *op == done => {
            let mut effects = vec![ResEffect::Alert(AlertRef::new("rc", 41, &[ctx.name]))];
            if let Some(p) = pid {
                effects.push(ResEffect::ForgetAsync { pid: *p });
            }
            effects.push(ResEffect::Report(ResReport::Offline));
            (S::Offline { since: now }, effects, false)
        }
        (
            S::Stopping {
                op,
                attempt,
                factor,
                event,
                pid,
                ..
            },
            E::Done {
                op: done,
                result: Err(cause),
            },
        ) if *op == done => {
            let mut effects = vec![ResEffect::Alert(AlertRef::new(
                "rc",
                42,
                &[ctx.name, "1", &cause],
            ))];
            if *attempt < ctx.deactivation.retry {
                effects.push(ResEffect::Alert(AlertRef::new(
                    "rc",
                    220,
                    &[ctx.name, ctx.name],
                )));
                let (next, more, used) = stop(attempt + 1, *factor, *event, *pid);
                effects.extend(more);
                (next, effects, used)
            } else {
                effects.push(ResEffect::Report(ResReport::DeactivationFailed {
                    cause: cause.clone(),
                }));
                (
                    S::DeactivationFailed {
                        cause,
                        event: *event,
                        since: now,
                    },
                    effects,
                    false,
                )
            }
        }
        (S::Stopping { op, event, .. }, E::Stalled { op: stalled }) if *op == stalled => {
            let cause = format!(
                "the stop script did not finish within {} s (deact/timeout)",
                ctx.deactivation.timeout.as_secs()
            );
            (
                S::DeactivationFailed {
                    cause: cause.clone(),
                    event: *event,
                    since: now,
                },
                stalled_effects(*op, ctx.name, false, cause),
                false,
            )
        }
        (S::Stopping { .. }, E::Done { .. })
        | (S::Stopping { .. }, E::Spawned { .. })
        | (S::Stopping { .. }, E::Stalled { .. })
        | (S::Stopping { .. }, E::AsyncExited { .. })
        | (S::Stopping { .. }, E::Stop { .. })
        | (S::Stopping { .. }, E::Reset) => same(),
        // Starting while stopping: let the stop finish; the group starts it after.
        (S::Stopping { .. }, E::Start { .. }) => same(),

        // ---- ActivationFailed ----------------------------------------------
        // A failed start left nothing running we know of; stopping runs the stop
        // script anyway, as CLUSTERPRO does, so a half-started application is cleaned up.
        (S::ActivationFailed { .. }, E::Stop { factor }) => stop(0, factor, ClpEvent::Start, None),
        (S::ActivationFailed { .. }, E::Start { event }) => start(0, event),
        (S::ActivationFailed { .. }, E::Reset) => (S::Offline { since: now }, Vec::new(), false),
        (S::ActivationFailed { .. }, E::Done { .. })
        | (S::ActivationFailed { .. }, E::Spawned { .. })
        | (S::ActivationFailed { .. }, E::Stalled { .. })
        | (S::ActivationFailed { .. }, E::AsyncExited { .. }) => same(),

        // ---- DeactivationFailed --------------------------------------------
        (S::DeactivationFailed { event, .. }, E::Stop { factor }) => stop(0, factor, *event, None),
        (S::DeactivationFailed { .. }, E::Reset) => (S::Offline { since: now }, Vec::new(), false),
        // Its state cannot be trusted: a start needs an explicit stop (or Reset) first.
        (S::DeactivationFailed { .. }, E::Start { .. })
        | (S::DeactivationFailed { .. }, E::Done { .. })
        | (S::DeactivationFailed { .. }, E::Spawned { .. })
        | (S::DeactivationFailed { .. }, E::Stalled { .. })
        | (S::DeactivationFailed { .. }, E::AsyncExited { .. }) => same(),
    }
}

impl ResState {
    /// CLUSTERPRO's word for this state.
    pub fn public(&self) -> crate::vocab::RunState {
        use crate::vocab::RunState as R;
        match self {
            ResState::Offline { .. } => R::Offline,
            ResState::Starting { .. } => R::OnlinePending,
            ResState::Online { .. } => R::Online,
            ResState::Stopping { .. } => R::OfflinePending,
            ResState::ActivationFailed { .. } => R::OnlineFailure,
            ResState::DeactivationFailed { .. } => R::OfflineFailure,
        }
    }

    pub fn since(&self) -> Millis {
        match self {
            ResState::Offline { since }
            | ResState::Starting { since, .. }
            | ResState::Online { since, .. }
            | ResState::Stopping { since, .. }
            | ResState::ActivationFailed { since, .. }
            | ResState::DeactivationFailed { since, .. } => *since,
        }
    }

    /// The operation in flight, if any.
    pub fn op(&self) -> Option<OpId> {
        match self {
            ResState::Starting { op, .. } | ResState::Stopping { op, .. } => Some(*op),
            ResState::Offline { .. }
            | ResState::Online { .. }
            | ResState::ActivationFailed { .. }
            | ResState::DeactivationFailed { .. } => None,
        }
    }

    pub fn is_online(&self) -> bool {
        matches!(self, ResState::Online { .. })
    }

    pub fn is_offline(&self) -> bool {
        matches!(self, ResState::Offline { .. })
    }

    pub fn is_busy(&self) -> bool {
        matches!(self, ResState::Starting { .. } | ResState::Stopping { .. })
    }

    pub fn async_pid(&self) -> Option<AsyncPid> {
        match self {
            ResState::Online { pid, .. } | ResState::Stopping { pid, .. } => *pid,
            ResState::Offline { .. }
            | ResState::Starting { .. }
            | ResState::ActivationFailed { .. }
            | ResState::DeactivationFailed { .. } => None,
        }
    }

    pub fn cause(&self) -> Option<&str> {
        match self {
            ResState::ActivationFailed { cause, .. }
            | ResState::DeactivationFailed { cause, .. } => Some(cause),
            ResState::Offline { .. }
            | ResState::Starting { .. }
            | ResState::Online { .. }
            | ResState::Stopping { .. } => None,
        }
    }
}
