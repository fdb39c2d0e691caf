//! The REST API's settings (`<rstd>` in clp.conf), read by `config` and
//! served by `rest`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

/// CLUSTERPRO's port for the REST API.
pub const DEFAULT_PORT: u16 = 29009;

/// `<rstd>`: whether and how clpd serves the REST API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestSettings {
    /// `rstd/use`: the API is served.
    pub enabled: bool,
    /// `rstd/port`.
    pub port: u16,
    /// `rstd/address`: the one address listened on; None = every address.
    pub address: Option<IpAddr>,
    /// `rstd/https` (default 1); 0 = plain HTTP, accepted only on a loopback address.
    pub https: bool,
    /// `rstd/certfile` and `rstd/keyfile` (PEM); None = a certificate
    /// generated at the first start and kept under the root's etc.
    pub certificate: Option<CertificatePaths>,
    /// `rstd/operategroup`: members (and root) may operate (default `clp`).
    pub operate_group: String,
    /// `rstd/readgroup`: when set, only its members (and those who may
    /// operate) may read; empty = every authenticated account.
    pub read_group: Option<String>,
    /// `rstd/pamservice`: the PAM service logins are checked with (default `clp`).
    pub pam_service: String,
    /// `rstd/lockout/count`: failed logins from one address before it is locked out.
    pub lockout_failures: u32,
    /// `rstd/lockout/time`: how long a locked-out address is refused.
    pub lockout_time: Duration,
    /// `rstd/maxconnections`: connections served at once; more wait to be accepted.
    pub max_connections: usize,
    /// `rstd/metrics`: who may scrape `/metrics`.
    pub metrics: MetricsAccess,
}

/// `rstd/metrics`: who may scrape the Prometheus metrics at `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MetricsAccess {
    /// `auth` (default): like the API's reads, an account with read rights.
    Login,
    /// `open`: a scrape from a loopback address needs no login (a local
    /// agent); one from elsewhere still does.
    OpenOnLoopback,
    /// `off`: no `/metrics`.
    Off,
}

/// Where the certificate and its key are (configured paths, placed under a relocated root).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificatePaths {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Default for RestSettings {
    fn default() -> Self {
        RestSettings {
            enabled: false,
            port: DEFAULT_PORT,
            address: None,
            https: true,
            certificate: None,
            operate_group: "clp".into(),
            read_group: None,
            pam_service: "clp".into(),
            lockout_failures: 5,
            lockout_time: Duration::from_secs(60),
            max_connections: 64,
            metrics: MetricsAccess::Login,
        }
    }
}
