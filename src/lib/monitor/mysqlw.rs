//! mysqlw: does the MySQL or MariaDB server answer, and (levels 2 and 3)
//! write and read back its monitoring table?
//!
//! Through `mysql_async` so that one deadline bounds the whole exchange
//! (`dbw`); the sync `mysql` crate bounds a connect or a read at a time only.
//! `parameters/ipaddress` is an address, a host name or, starting with `/`,
//! the server's Unix socket. TLS as `dbw` says over TCP: the handshake asks
//! for it when the server offers it, and a server without TLS is asked again
//! in plain; none on a Unix socket. Each check opens a new connection and closes it. The statements:
//!
//! * level 1: `SELECT 1`;
//! * level 2: the table `(num INT PRIMARY KEY, value VARCHAR(64))` created if
//!   missing (with `ENGINE=` `parameters/engine` when set), row 0 replaced by
//!   a value no check wrote before, read back, compared;
//! * level 3: as level 2, then the table dropped (a failed drop is a Warning).

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, DriverError, Error, OptsBuilder, SslOpts};

use super::dbw;
use crate::model::{DbLevel, DbwSpec};
use crate::vocab::CheckResult;

const PRODUCT: &str = "MySQL";

/// mysqlw as a probe (on the pool: each check ends by its deadline).
pub struct MysqlwProbe {
    spec: DbwSpec,
}

impl MysqlwProbe {
    pub fn new(spec: &DbwSpec) -> Self {
        MysqlwProbe { spec: spec.clone() }
    }
}

impl super::Probe for MysqlwProbe {
    fn check(&mut self, timeout: Duration) -> CheckResult {
        dbw::run_with_deadline(timeout, exchange(&self.spec))
    }
}

fn options(spec: &DbwSpec, tls: bool) -> OptsBuilder {
    let mut opts = OptsBuilder::default()
        .user(Some(spec.user.clone()))
        .pass(Some(spec.password.clone()))
        .db_name(Some(spec.database.clone()))
        // Talk to the configured server only, never to a socket it names.
        .prefer_socket(false);
    opts = if spec.host.starts_with('/') {
        opts.socket(Some(spec.host.clone()))
    } else {
        opts.ip_or_hostname(spec.host.clone()).tcp_port(spec.port)
    };
    if tls {
        opts = opts.ssl_opts(Some(
            SslOpts::default()
                .with_danger_accept_invalid_certs(true)
                .with_danger_skip_domain_validation(true),
        ));
    }
    opts
}

async fn connect(spec: &DbwSpec) -> Result<Conn, Error> {
    if spec.host.starts_with('/') {
        // A local socket: no TLS (as libpq never uses it there; asking
        // mysql_async for it on a socket was seen to fail, "Packets out of
        // sync", against MariaDB 10.11).
        return Conn::new(options(spec, false)).await;
    }
    match Conn::new(options(spec, true)).await {
        // The server offers no TLS: plain, as sslmode=prefer does.
        Err(Error::Driver(DriverError::NoClientSslFlagFromServer)) => {
            Conn::new(options(spec, false)).await
        }
        other => other,
    }
}

async fn exchange(spec: &DbwSpec) -> CheckResult {
    let who = dbw::target(PRODUCT, spec);
    let mut conn = match connect(spec).await {
        Ok(c) => c,
        Err(e) => return CheckResult::Failed(format!("{who}: cannot connect: {e}")),
    };
    let verdict = statements(&mut conn, spec, &who).await;
    let _ = conn.disconnect().await;
    verdict
}

async fn statements(conn: &mut Conn, spec: &DbwSpec, who: &str) -> CheckResult {
    let table = &spec.table;
    if spec.level == DbLevel::Select || !dbw::valid_table(table) {
        return match conn.query_drop("SELECT 1").await {
            Ok(()) => CheckResult::Ok,
            Err(e) => CheckResult::Failed(format!("{who}: SELECT failed: {e}")),
        };
    }
    let engine = if dbw::valid_table(&spec.engine) {
        format!(" ENGINE={}", spec.engine)
    } else {
        String::new()
    };
    let create = format!(
        "CREATE TABLE IF NOT EXISTS {table} (num INT PRIMARY KEY, value VARCHAR(64)){engine}"
    );
    if let Err(e) = conn.query_drop(create).await {
        return CheckResult::Failed(format!("{who}: cannot create table {table}: {e}"));
    }
    let value = dbw::fresh_value();
    let write = format!("REPLACE INTO {table} (num, value) VALUES (0, ?)");
    if let Err(e) = conn.exec_drop(write, (value.clone(),)).await {
        return CheckResult::Failed(format!("{who}: cannot write to table {table}: {e}"));
    }
    let read = format!("SELECT value FROM {table} WHERE num = 0");
    let read_back = match conn.query_first::<String, _>(read).await {
        Ok(v) => v,
        Err(e) => return CheckResult::Failed(format!("{who}: cannot read table {table}: {e}")),
    };
    let verdict = dbw::verify(who, table, &value, read_back);
    if verdict != CheckResult::Ok || spec.level != DbLevel::CreateDrop {
        return verdict;
    }
    match conn.query_drop(format!("DROP TABLE {table}")).await {
        Ok(()) => CheckResult::Ok,
        Err(e) => CheckResult::Warning(format!("{who}: cannot drop table {table}: {e}")),
    }
}

// ---- mysqlw in the kinds table (monitor::kinds) -----------------------------

pub use kind::KIND;

mod kind {
    use super::super::kinds::{Checks, DetailRow, Kind, ParamReader};
    use super::super::{Probe, ProbeContext, dbw};
    use super::MysqlwProbe;
    use crate::model::{Monitor, MonitorKind};

    pub const KIND: Kind = Kind {
        name: "mysqlw",
        checks: Checks::Pool(probe),
        read,
        detail,
    };

    /// One exchange with the server under the monitor's deadline.
    fn probe(monitor: &Monitor, _ctx: &ProbeContext) -> Option<Box<dyn Probe>> {
        let MonitorKind::Mysqlw(spec) = &monitor.kind else {
            return None;
        };
        Some(Box::new(MysqlwProbe::new(spec)))
    }

    fn read(p: &mut dyn ParamReader) -> MonitorKind {
        let mut spec = dbw::read(p, "mysqlw");
        spec.engine = p.text("parameters/engine");
        if !spec.engine.is_empty() && !dbw::valid_table(&spec.engine) {
            let (line, at) = (p.line_of("parameters/engine"), p.at("parameters/engine"));
            p.error(
                line,
                at,
                format!(
                    "mysqlw storage engine {:?} is not a plain name",
                    spec.engine
                ),
            );
        }
        MonitorKind::Mysqlw(spec)
    }

    fn detail(kind: &MonitorKind) -> Vec<DetailRow> {
        let MonitorKind::Mysqlw(spec) = kind else {
            return Vec::new();
        };
        let mut rows = dbw::detail(spec);
        if !spec.engine.is_empty() {
            rows.push(("Storage Engine", spec.engine.clone(), false));
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::dbw::probe_tests;

    fn probe(port: u16) -> MysqlwProbe {
        MysqlwProbe::new(&DbwSpec {
            database: "d".into(),
            host: "127.0.0.1".into(),
            port,
            user: "u".into(),
            password: "secret".into(),
            table: "mysqlwatch".into(),
            level: DbLevel::UpdateSelect,
            engine: String::new(),
        })
    }

    #[test]
    fn a_server_that_never_answers_is_a_timeout_within_the_budget() {
        probe_tests::a_silent_server_is_a_timeout_within_the_budget(probe);
    }

    #[test]
    fn a_closed_port_is_an_error_naming_the_server() {
        probe_tests::a_closed_port_is_an_error_naming_the_server(probe, "MySQL server");
    }
}
