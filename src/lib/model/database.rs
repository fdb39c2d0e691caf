//! The database monitors' parameters (psqlw, mysqlw): one shape for both.

use serde::Serialize;

/// What a database monitor does at each check (CLUSTERPRO's monitor level,
/// written `parameters/docreatedrop`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DbLevel {
    /// Level 1 (`docreatedrop` 3): connect and run a SELECT; no table.
    Select,
    /// Level 2 (`docreatedrop` 0): write a value to the monitoring table and
    /// read it back; the table is created when missing and kept.
    UpdateSelect,
    /// Level 3 (`docreatedrop` 1): create the table, write, read back, drop
    /// it, at each check.
    CreateDrop,
}

impl DbLevel {
    /// The level for `docreatedrop`; None for a value CLUSTERPRO does not define.
    pub fn from_docreatedrop(value: i64) -> Option<DbLevel> {
        match value {
            3 => Some(DbLevel::Select),
            0 => Some(DbLevel::UpdateSelect),
            1 => Some(DbLevel::CreateDrop),
            _ => None,
        }
    }

    /// CLUSTERPRO's words for the level.
    pub fn describe(self) -> &'static str {
        match self {
            DbLevel::Select => "Level 1 (monitoring with select)",
            DbLevel::UpdateSelect => "Level 2 (monitoring with update/select)",
            DbLevel::CreateDrop => "Level 3 (create/drop table each time)",
        }
    }
}

/// A database monitor's target and check (psqlw, mysqlw).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DbwSpec {
    /// `parameters/database`.
    pub database: String,
    /// `parameters/ipaddress`: an address or a host name.
    pub host: String,
    pub port: u16,
    pub user: String,
    /// `parameters/password`, as written (never shown, never logged).
    #[serde(skip)]
    pub password: String,
    /// `parameters/table`: the monitoring table (an SQL identifier).
    pub table: String,
    pub level: DbLevel,
    /// `parameters/engine` (mysqlw): the storage engine of the monitoring
    /// table; empty for the server's default (and for psqlw).
    pub engine: String,
}
