//! psqlw: does the PostgreSQL server answer, and (levels 2 and 3) write and
//! read back its monitoring table?
//!
//! Through `tokio-postgres` (the client under the `postgres` crate) so that
//! one deadline bounds the whole exchange (`dbw`). `parameters/ipaddress`
//! is an address, a host name or, starting with `/`, the directory of the
//! server's Unix socket. Each check opens a new connection (as CLUSTERPRO's:
//! a server that stopped accepting must not hide behind a kept one) and
//! closes it. The level's statements:
//!
//! * level 1: `SELECT 1`;
//! * level 2: the table `(num integer PRIMARY KEY, value text)` created if
//!   missing, row 0 set to a value no check wrote before, read back, compared;
//! * level 3: as level 2, then the table dropped (a failed drop is a Warning).

use std::time::Duration;

use tokio_postgres::config::SslMode;

use super::dbw;
use crate::model::{DbLevel, DbwSpec};
use crate::vocab::CheckResult;

const PRODUCT: &str = "PostgreSQL";

/// psqlw as a probe (on the pool: each check ends by its deadline).
pub struct PsqlwProbe {
    spec: DbwSpec,
}

impl PsqlwProbe {
    pub fn new(spec: &DbwSpec) -> Self {
        PsqlwProbe { spec: spec.clone() }
    }
}

impl super::Probe for PsqlwProbe {
    fn check(&mut self, timeout: Duration) -> CheckResult {
        dbw::run_with_deadline(timeout, exchange(&self.spec, timeout))
    }
}

/// The server's words for an error: its message and SQLSTATE when it
/// answered, the client's description otherwise (refused, reset, TLS).
fn words(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

async fn exchange(spec: &DbwSpec, timeout: Duration) -> CheckResult {
    let who = dbw::target(PRODUCT, spec);
    let mut config = tokio_postgres::Config::new();
    config
        .host(&spec.host)
        .port(spec.port)
        .user(&spec.user)
        .password(&spec.password)
        .dbname(&spec.database)
        .application_name("clp psqlw")
        .connect_timeout(timeout)
        .ssl_mode(SslMode::Prefer);
    let tls = match dbw::tls_accepting_any_certificate() {
        Ok(c) => tokio_postgres_rustls::MakeRustlsConnect::new(c),
        Err(e) => return CheckResult::Failed(format!("{who}: cannot set up TLS: {e}")),
    };
    let (client, connection) = match config.connect(tls).await {
        Ok(pair) => pair,
        Err(e) => return CheckResult::Failed(format!("{who}: cannot connect: {}", words(&e))),
    };
    // The connection's task carries the protocol while the statements run;
    // it ends when the client is dropped (or with the runtime at the deadline).
    let carrier = tokio::spawn(connection);
    let verdict = statements(&client, spec, &who).await;
    drop(client);
    let _ = carrier.await;
    verdict
}

async fn statements(client: &tokio_postgres::Client, spec: &DbwSpec, who: &str) -> CheckResult {
    let table = &spec.table;
    if spec.level == DbLevel::Select || !dbw::valid_table(table) {
        return match client.simple_query("SELECT 1").await {
            Ok(_) => CheckResult::Ok,
            Err(e) => CheckResult::Failed(format!("{who}: SELECT failed: {}", words(&e))),
        };
    }
    let create =
        format!("CREATE TABLE IF NOT EXISTS {table} (num integer PRIMARY KEY, value text)");
    if let Err(e) = client.batch_execute(&create).await {
        return CheckResult::Failed(format!("{who}: cannot create table {table}: {}", words(&e)));
    }
    let value = dbw::fresh_value();
    let write = format!(
        "INSERT INTO {table} (num, value) VALUES (0, $1) \
         ON CONFLICT (num) DO UPDATE SET value = EXCLUDED.value"
    );
    if let Err(e) = client.execute(&write, &[&value]).await {
        return CheckResult::Failed(format!(
            "{who}: cannot write to table {table}: {}",
            words(&e)
        ));
    }
    let read = format!("SELECT value FROM {table} WHERE num = 0");
    let read_back = match client.query_opt(&read, &[]).await {
        Ok(row) => row.and_then(|r| r.try_get::<_, String>(0).ok()),
        Err(e) => {
            return CheckResult::Failed(format!("{who}: cannot read table {table}: {}", words(&e)));
        }
    };
    let verdict = dbw::verify(who, table, &value, read_back);
    if verdict != CheckResult::Ok || spec.level != DbLevel::CreateDrop {
        return verdict;
    }
    match client.batch_execute(&format!("DROP TABLE {table}")).await {
        Ok(()) => CheckResult::Ok,
        Err(e) => CheckResult::Warning(format!("{who}: cannot drop table {table}: {}", words(&e))),
    }
}

// ---- psqlw in the kinds table (monitor::kinds) ------------------------------

pub use kind::KIND;

mod kind {
    use super::super::kinds::{Checks, DetailRow, Kind, ParamReader};
    use super::super::{Probe, ProbeContext, dbw};
    use super::PsqlwProbe;
    use crate::model::{Monitor, MonitorKind};

    pub const KIND: Kind = Kind {
        name: "psqlw",
        checks: Checks::Pool(probe),
        read,
        detail,
    };

    /// One exchange with the server under the monitor's deadline.
    fn probe(monitor: &Monitor, _ctx: &ProbeContext) -> Option<Box<dyn Probe>> {
        let MonitorKind::Psqlw(spec) = &monitor.kind else {
            return None;
        };
        Some(Box::new(PsqlwProbe::new(spec)))
    }

    fn read(p: &mut dyn ParamReader) -> MonitorKind {
        MonitorKind::Psqlw(dbw::read(p, "psqlw"))
    }

    fn detail(kind: &MonitorKind) -> Vec<DetailRow> {
        let MonitorKind::Psqlw(spec) = kind else {
            return Vec::new();
        };
        dbw::detail(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::dbw::probe_tests;

    fn probe(port: u16) -> PsqlwProbe {
        PsqlwProbe::new(&DbwSpec {
            database: "d".into(),
            host: "127.0.0.1".into(),
            port,
            user: "u".into(),
            password: "secret".into(),
            table: "psqlwatch".into(),
            level: DbLevel::CreateDrop,
            engine: String::new(),
        })
    }

    #[test]
    fn a_server_that_never_answers_is_a_timeout_within_the_budget() {
        probe_tests::a_silent_server_is_a_timeout_within_the_budget(probe);
    }

    #[test]
    fn a_closed_port_is_an_error_naming_the_server() {
        probe_tests::a_closed_port_is_an_error_naming_the_server(probe, "PostgreSQL server");
    }
}
