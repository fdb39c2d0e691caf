//! Who is asking: HTTP Basic checked against the OS's accounts through PAM,
//! off the async workers and with a deadline, and their rights (read; operate
//! for root and the members of `rstd/operategroup`). Failed logins are logged
//! and counted per client address ([`Lockout`]).
//!
//! A good login is remembered for [`REMEMBERED`] as a salted digest of its
//! password, so that a dashboard polling every second does not run the
//! password hash (and PAM's modules) on every request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine;
use tokio::sync::Semaphore;

use super::lockout::Lockout;
use crate::model::RestSettings;

/// How long PAM may take for one login (pam_unix alone waits 2 s after a failure).
const PAM_DEADLINE: Duration = Duration::from_secs(10);
/// Logins checked at once; more wait (each holds a blocking thread).
const PAM_AT_ONCE: usize = 4;
/// How long a good login is remembered.
pub const REMEMBERED: Duration = Duration::from_secs(60);

/// An authenticated account and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub may_operate: bool,
}

/// The outcome of one request's authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Granted(Identity),
    /// Authenticated, but not allowed to read (not in `rstd/readgroup`).
    NoRights(String),
    /// No credentials, or wrong ones.
    Denied,
    /// Too many failures from this address: refused for this long.
    LockedOut(Duration),
    /// PAM did not answer in time or could not start.
    Unavailable(String),
}

struct Remembered {
    digest: [u8; 32],
    identity: Identity,
    until: Instant,
}

/// The authentication state shared by every connection.
pub struct Authenticator {
    pam_service: String,
    operate_group: String,
    read_group: Option<String>,
    lockout: Mutex<Lockout>,
    remembered: Mutex<HashMap<String, Remembered>>,
    pam_slots: Arc<Semaphore>,
    salt: [u8; 16],
}

impl Authenticator {
    pub fn new(settings: &RestSettings) -> Self {
        let mut salt = [0u8; 16];
        let _ = rustix::rand::getrandom(&mut salt, rustix::rand::GetRandomFlags::empty());
        Authenticator {
            pam_service: settings.pam_service.clone(),
            operate_group: settings.operate_group.clone(),
            read_group: settings.read_group.clone(),
            lockout: Mutex::new(Lockout::new(
                settings.lockout_failures,
                settings.lockout_time,
            )),
            remembered: Mutex::new(HashMap::new()),
            pam_slots: Arc::new(Semaphore::new(PAM_AT_ONCE)),
            salt,
        }
    }

    /// Checks the `Authorization` header of a request from `client`.
    pub async fn check(&self, header: Option<&str>, client: IpAddr) -> Verdict {
        if let Some(left) = self.lockout().locked(client, Instant::now()) {
            return Verdict::LockedOut(left);
        }
        let Some((user, password)) = header.and_then(parse_basic) else {
            return Verdict::Denied;
        };
        let digest = self.digest(&user, &password);
        if let Some(identity) = self.remembered_login(&user, &digest) {
            return self.rights_verdict(identity);
        }
        let Ok(_slot) = self.pam_slots.clone().acquire_owned().await else {
            return Verdict::Unavailable("the login checker is closed".into());
        };
        let service = self.pam_service.clone();
        let (operate, read) = (self.operate_group.clone(), self.read_group.clone());
        let login_user = user.clone();
        let checked = tokio::task::spawn_blocking(move || {
            pam_login(&service, &login_user, &password)?;
            Ok::<_, LoginError>(rights(&login_user, &operate, read.as_deref()))
        });
        match tokio::time::timeout(PAM_DEADLINE, checked).await {
            Ok(Ok(Ok((may_read, may_operate)))) => {
                self.lockout().succeeded(client);
                let identity = Identity {
                    user: user.clone(),
                    may_operate,
                };
                self.remember(&user, digest, &identity, may_read);
                if may_read {
                    Verdict::Granted(identity)
                } else {
                    Verdict::NoRights(user)
                }
            }
            Ok(Ok(Err(LoginError::Refused(why)))) => {
                crate::metrics::failed_login();
                let locked = self.lockout().failed(client, Instant::now());
                tracing::warn!(target: "rest", "failed login of {user:?} from {client}: {why}{}",
                    if locked { "; the address is locked out" } else { "" });
                Verdict::Denied
            }
            Ok(Ok(Err(LoginError::Unavailable(why)))) => Verdict::Unavailable(why),
            Ok(Err(e)) => Verdict::Unavailable(format!("the login check failed: {e}")),
            Err(_) => Verdict::Unavailable(format!(
                "PAM did not answer within {} s",
                PAM_DEADLINE.as_secs()
            )),
        }
    }

    fn lockout(&self) -> std::sync::MutexGuard<'_, Lockout> {
        self.lockout.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn digest(&self, user: &str, password: &str) -> [u8; 32] {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(&self.salt);
        ctx.update(user.as_bytes());
        ctx.update(&[0]);
        ctx.update(password.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }

    fn remembered_login(&self, user: &str, digest: &[u8; 32]) -> Option<(Identity, bool)> {
        let mut remembered = self
            .remembered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        remembered.retain(|_, r| r.until > now);
        let entry = remembered.get(user)?;
        // Compared whole: a digest is not a secret worth a constant-time compare.
        (entry.digest == *digest).then(|| (entry.identity.clone(), true))
    }

    fn remember(&self, user: &str, digest: [u8; 32], identity: &Identity, may_read: bool) {
        if !may_read {
            return;
        }
        self.remembered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                user.to_string(),
                Remembered {
                    digest,
                    identity: identity.clone(),
                    until: Instant::now() + REMEMBERED,
                },
            );
    }

    fn rights_verdict(&self, (identity, may_read): (Identity, bool)) -> Verdict {
        if may_read {
            Verdict::Granted(identity)
        } else {
            Verdict::NoRights(identity.user)
        }
    }
}

/// `Basic base64(user:password)` → (user, password).
pub fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, password) = text.split_once(':')?;
    (!user.is_empty()).then(|| (user.to_string(), password.to_string()))
}

enum LoginError {
    Refused(String),
    Unavailable(String),
}

/// One PAM conversation: authenticate and check the account (blocking).
fn pam_login(service: &str, user: &str, password: &str) -> Result<(), LoginError> {
    let mut pam = pam::Authenticator::with_password(service).map_err(|e| {
        LoginError::Unavailable(format!("cannot start PAM for service {service}: {e}"))
    })?;
    pam.get_handler().set_credentials(user, password);
    pam.authenticate()
        .map_err(|e| LoginError::Refused(e.to_string()))
}

/// (may read, may operate) of `user`: root and the members of
/// `operate_group` operate; with `read_group`, only its members (and those
/// who operate) read.
pub fn rights(user: &str, operate_group: &str, read_group: Option<&str>) -> (bool, bool) {
    use nix::unistd::{Group, User, getgrouplist};
    let Ok(Some(account)) = User::from_name(user) else {
        return (false, false);
    };
    let groups = std::ffi::CString::new(user)
        .ok()
        .and_then(|name| getgrouplist(&name, account.gid).ok())
        .unwrap_or_else(|| vec![account.gid]);
    let member = |group: &str| {
        !group.is_empty()
            && matches!(Group::from_name(group), Ok(Some(g)) if groups.contains(&g.gid))
    };
    let may_operate = account.uid.is_root() || member(operate_group);
    let may_read = may_operate || read_group.is_none_or(member);
    (may_read, may_operate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_read_and_bad_ones_refused() {
        let encode = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert_eq!(
            parse_basic(&format!("Basic {}", encode("ops:pa:ss"))),
            Some(("ops".into(), "pa:ss".into()))
        );
        assert_eq!(
            parse_basic(&format!("basic  {}", encode("ops:"))),
            Some(("ops".into(), String::new()))
        );
        assert_eq!(parse_basic(&format!("Bearer {}", encode("a:b"))), None);
        assert_eq!(parse_basic(&format!("Basic {}", encode(":b"))), None);
        assert_eq!(parse_basic("Basic !!!"), None);
        assert_eq!(parse_basic(&format!("Basic {}", encode("nocolon"))), None);
    }

    #[test]
    fn root_operates_and_an_unknown_account_has_no_rights() {
        assert_eq!(rights("root", "", None), (true, true));
        assert_eq!(
            rights("clp-no-such-account-4711", "root", None),
            (false, false)
        );
    }
}
