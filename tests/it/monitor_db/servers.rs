//! Real database servers for the psqlw and mysqlw tests: PostgreSQL and
//! MariaDB, each in a temporary directory of its own, listening on 127.0.0.1
//! at a port picked for the test and on a Unix socket in that directory,
//! requiring TLS (a self-signed certificate made with openssl) and a monitor
//! account with a password.
//!
//! The server is run by clpd: the exec resource's start.sh starts it (and
//! waits until it answers) and its stop.sh stops it, so that the monitor's
//! recovery restarts the database. The guard stops a server left running
//! (after SIGCONT, should it be frozen) by the pid it recorded, and only
//! while that pid is still the server of this directory.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The monitor account's name and password.
pub const USER: &str = "clpwatch";
pub const PASSWORD: &str = "Watch-pw-17";
pub const DATABASE: &str = "watchdb";

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Postgres,
    Mariadb,
}

/// One server's directory, port and scripts.
pub struct DbServer {
    pub engine: Engine,
    pub dir: tempfile::TempDir,
    pub port: u16,
    bin: PathBuf,
}

/// The directory holding the PostgreSQL 15 programs, or why there is none.
fn postgres_bin() -> Result<PathBuf, String> {
    let dir = PathBuf::from("/usr/lib/postgresql/15/bin");
    if dir.join("pg_ctl").exists() && dir.join("initdb").exists() {
        Ok(dir)
    } else {
        Err("PostgreSQL 15 is not installed (tests/run.sh installs postgresql-15)".into())
    }
}

fn mariadb_bin() -> Result<PathBuf, String> {
    let dir = PathBuf::from("/usr/bin");
    if Path::new("/usr/sbin/mariadbd").exists() && dir.join("mariadb-install-db").exists() {
        Ok(dir)
    } else {
        Err("MariaDB is not installed (tests/run.sh installs mariadb-server)".into())
    }
}

/// Why these tests cannot run here, if they cannot.
pub fn unavailable(engine: Engine) -> Option<String> {
    if !nix::unistd::Uid::effective().is_root() {
        return Some("the database servers run as their own accounts, which needs root".into());
    }
    if !Path::new("/usr/bin/openssl").exists() {
        return Some("openssl is not installed (tests/run.sh installs it)".into());
    }
    match engine {
        Engine::Postgres => postgres_bin().err(),
        Engine::Mariadb => mariadb_bin().err(),
    }
}

/// A port on 127.0.0.1 nobody listens on now.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn run(what: &str, cmd: &mut Command) -> String {
    try_run(cmd).unwrap_or_else(|e| panic!("{what} failed: {e}"))
}

/// The output of `cmd`, or why it failed.
fn try_run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "{}:\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn sh(what: &str, script: &str) -> String {
    run(what, Command::new("/bin/sh").args(["-c", script]))
}

impl DbServer {
    /// A new, initialised data directory (not started).
    pub fn create(engine: Engine) -> DbServer {
        let dir = tempfile::Builder::new()
            .prefix("clp-cdb-")
            .tempdir()
            .unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let account = match engine {
            Engine::Postgres => "postgres",
            Engine::Mariadb => "mysql",
        };
        let d = dir.path().display().to_string();
        sh(
            "a self-signed certificate",
            &format!(
                "cd {d} && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
                 -keyout key.pem -out cert.pem 2>/dev/null && chmod 600 key.pem && chown {account} key.pem cert.pem"
            ),
        );
        match engine {
            Engine::Postgres => {
                let bin = postgres_bin().unwrap();
                let pw = dir.path().join("pw");
                fs::write(&pw, "unused-superuser-pw\n").unwrap();
                sh(
                    "initdb",
                    &format!(
                        "chown postgres {d} {d}/pw && runuser -u postgres -- {}/initdb -D {d}/data -U postgres \
                         --pwfile={d}/pw --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-sync >/dev/null",
                        bin.display()
                    ),
                );
                // TLS only over TCP: a plain connection is refused, so a
                // Normal monitor proves the handshake.
                fs::write(
                    dir.path().join("data/pg_hba.conf"),
                    "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n",
                )
                .unwrap();
                DbServer {
                    engine,
                    dir,
                    port: free_port(),
                    bin,
                }
            }
            Engine::Mariadb => {
                let bin = mariadb_bin().unwrap();
                sh(
                    "mariadb-install-db",
                    &format!(
                        "chown mysql {d} && {}/mariadb-install-db --no-defaults --datadir={d}/data --user=mysql \
                         --skip-test-db --auth-root-authentication-method=socket >/dev/null 2>&1",
                        bin.display()
                    ),
                );
                DbServer {
                    engine,
                    dir,
                    port: free_port(),
                    bin,
                }
            }
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The exec resource's start.sh body: starts the server, waits until it
    /// answers on its socket, and creates the monitor account when missing.
    pub fn start_script(&self) -> String {
        let d = self.path().display();
        let (port, bin) = (self.port, self.bin.display());
        // dynamic_shared_memory_type=mmap: the server's shared segments live in
        // its data directory, which the test removes, rather than in /dev/shm,
        // where a SIGKILLed postmaster would leave them.
        match self.engine {
            Engine::Postgres => format!(
                r#"runuser -u postgres -- {bin}/pg_ctl -D {d}/data -l {d}/server.log -w -t 60 \
  -o "-p {port} -k {d} -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file={d}/cert.pem -c ssl_key_file={d}/key.pem -c fsync=off -c dynamic_shared_memory_type=mmap" start >/dev/null || exit 1
echo "start db $CLP_EVENT" >> "$LOG"
runuser -u postgres -- psql -h {d} -p {port} -U postgres -d postgres -qAt -c "SELECT 1 FROM pg_roles WHERE rolname = '{USER}'" | grep -q 1 && exit 0
runuser -u postgres -- psql -h {d} -p {port} -U postgres -d postgres -q -c "CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'" -c "CREATE DATABASE {DATABASE} OWNER {USER}" >/dev/null"#
            ),
            Engine::Mariadb => format!(
                r#"/usr/sbin/mariadbd --no-defaults --datadir={d}/data --socket={d}/sock --port={port} \
  --bind-address=127.0.0.1 --user=mysql --pid-file={d}/server.pid --log-error={d}/server.log \
  --skip-name-resolve --ssl-cert={d}/cert.pem --ssl-key={d}/key.pem --require-secure-transport=ON \
  --innodb-flush-log-at-trx-commit=0 </dev/null >/dev/null 2>&1 &
i=0
until {bin}/mariadb-admin --no-defaults --socket={d}/sock -u root ping >/dev/null 2>&1; do
  i=$((i+1)); [ $i -lt 1200 ] || exit 1; sleep 0.05
done
echo "start db $CLP_EVENT" >> "$LOG"
{bin}/mariadb --no-defaults --socket={d}/sock -u root -e "CREATE USER IF NOT EXISTS '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'; CREATE USER IF NOT EXISTS '{USER}'@'localhost' IDENTIFIED BY '{PASSWORD}'; CREATE DATABASE IF NOT EXISTS {DATABASE}; GRANT ALL ON {DATABASE}.* TO '{USER}'@'127.0.0.1'; GRANT ALL ON {DATABASE}.* TO '{USER}'@'localhost'""#
            ),
        }
    }

    /// The exec resource's stop.sh body: stops the server if it runs.
    pub fn stop_script(&self) -> String {
        let d = self.path().display();
        let bin = self.bin.display();
        match self.engine {
            Engine::Postgres => format!(
                r#"echo "stop db $CLP_EVENT" >> "$LOG"
runuser -u postgres -- {bin}/pg_ctl -D {d}/data -m fast -w -t 60 stop >/dev/null 2>&1
exit 0"#
            ),
            Engine::Mariadb => format!(
                r#"echo "stop db $CLP_EVENT" >> "$LOG"
P=$(cat {d}/server.pid 2>/dev/null)
[ -n "$P" ] && kill -TERM "$P" 2>/dev/null
i=0
while [ -n "$P" ] && kill -0 "$P" 2>/dev/null; do i=$((i+1)); [ $i -lt 1200 ] || break; sleep 0.05; done
exit 0"#
            ),
        }
    }

    /// What `parameters/ipaddress` names to reach the server on its Unix
    /// socket: PostgreSQL's socket directory, MariaDB's socket file.
    pub fn socket(&self) -> String {
        match self.engine {
            Engine::Postgres => self.path().display().to_string(),
            Engine::Mariadb => self.path().join("sock").display().to_string(),
        }
    }

    /// The server's main process, when it runs (from its pid file).
    pub fn pid(&self) -> Option<i32> {
        let file = match self.engine {
            Engine::Postgres => self.path().join("data/postmaster.pid"),
            Engine::Mariadb => self.path().join("server.pid"),
        };
        let text = fs::read_to_string(file).ok()?;
        let pid: i32 = text.lines().next()?.trim().parse().ok()?;
        self.is_ours(pid).then_some(pid)
    }

    /// Whether `pid` is this directory's server (its command line names it).
    fn is_ours(&self, pid: i32) -> bool {
        fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&self.path().display().to_string()))
    }

    /// Waits (deadline 60 s) for the server to run; returns its pid.
    pub fn wait_running(&self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(pid) = self.pid() {
                return pid;
            }
            assert!(
                Instant::now() < deadline,
                "the {:?} server did not start",
                self.engine
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Takes the server down as a crash would: PostgreSQL by an immediate
    /// shutdown (no checkpoint, as after a power cut; a SIGKILL of the
    /// postmaster would leave its backends holding the shared memory for a
    /// while and the restart racing them), MariaDB by SIGKILL.
    pub fn crash(&self) {
        let pid = self.wait_running();
        match self.engine {
            Engine::Postgres => self.immediate_stop(),
            Engine::Mariadb => {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.is_ours(pid) {
            assert!(Instant::now() < deadline, "the crashed server stays");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn immediate_stop(&self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.path().join("data"))
            .args(["-m", "immediate", "-w", "-t", "30", "stop"])
            .output();
    }

    /// Runs `sql` through the server's own client on its socket, as its
    /// administrator; returns the output (tab separated, no headers) or why
    /// it failed.
    pub fn query(&self, sql: &str) -> Result<String, String> {
        let d = self.path().display();
        match self.engine {
            Engine::Postgres => try_run(Command::new("runuser").args([
                "-u",
                "postgres",
                "--",
                &format!("{}/psql", self.bin.display()),
                "-h",
                &d.to_string(),
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                DATABASE,
                "-qAt",
                "-c",
                sql,
            ])),
            Engine::Mariadb => try_run(Command::new(self.bin.join("mariadb")).args([
                "--no-defaults",
                &format!("--socket={d}/sock"),
                "-u",
                "root",
                "-N",
                "-B",
                DATABASE,
                "-e",
                sql,
            ])),
        }
    }

    /// The server's log, for failure messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for DbServer {
    fn drop(&mut self) {
        let Some(pid) = self.pid() else { return };
        let pid = nix::unistd::Pid::from_raw(pid);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT);
        match self.engine {
            Engine::Postgres => self.immediate_stop(),
            Engine::Mariadb => {
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.pid().is_some() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
