//! A real SMTP server for the mail tests: Debian's aiosmtpd (python3-aiosmtpd)
//! driven by a small script the test writes, on 127.0.0.1, with plain SMTP,
//! STARTTLS (required before MAIL) or TLS from the first byte, AUTH LOGIN and
//! PLAIN for one user, and a certificate signed by a CA the test makes with
//! openssl.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The user and password the server accepts.
pub const USER: &str = "alice";
pub const PASSWORD: &str = "Corr3ct-Horse";

/// Each accepted mail lands in OUTDIR as `N.mail`: a JSON line (envelope, whether
/// the mail came over TLS, the login) and the message as received.
const SERVER_PY: &str = r#"
import asyncio, json, os, ssl, sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

mode, portfile, outdir, cert, key, user, password = sys.argv[1:8]


class Handler:
    async def handle_DATA(self, server, session, envelope):
        head = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "login": session.auth_data if session.authenticated else None,
        }
        n = len([f for f in os.listdir(outdir) if f.endswith(".mail")])
        tmp = os.path.join(outdir, "%d.tmp" % n)
        with open(tmp, "wb") as f:
            f.write(json.dumps(head).encode() + b"\n" + envelope.original_content)
        os.rename(tmp, os.path.join(outdir, "%d.mail" % n))
        return "250 2.0.0 queued"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == user
        and auth_data.password.decode() == password
    )
    # handled=False: aiosmtpd answers 535 itself on a failure.
    return AuthResult(success=ok, handled=False, auth_data=user if ok else None)


async def main():
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    options = {"authenticator": authenticator, "hostname": "mail.test"}
    if mode == "starttls":
        options.update(tls_context=context, require_starttls=True)
    else:
        # plain: AUTH in clear, as CLUSTERPRO allows; implicit: TLS already.
        options.update(auth_require_tls=False)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(Handler(), **options),
        "127.0.0.1",
        0,
        ssl=context if mode == "implicit" else None,
    )
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % server.sockets[0].getsockname()[1])
    os.rename(portfile + ".tmp", portfile)
    await server.serve_forever()


asyncio.run(main())
"#;

/// How the server talks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Plain,
    StartTls,
    Implicit,
}

/// A test CA and a server certificate for 127.0.0.1 and localhost it signed.
pub struct Pki {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl: {e}"));
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Pki {
    pub fn new(dir: &Path) -> Pki {
        fs::create_dir_all(dir).unwrap();
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        let mut ca = vec!["req", "-x509", "-nodes", "-days", "2"];
        ca.extend(ec);
        ca.extend([
            "-subj",
            "/CN=clp test mail CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(dir, &ca);
        let mut csr = vec!["req", "-new", "-nodes"];
        csr.extend(ec);
        csr.extend([
            "-subj",
            "/CN=localhost",
            "-keyout",
            "key.pem",
            "-out",
            "server.csr",
        ]);
        openssl(dir, &csr);
        fs::write(
            dir.join("server.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n\
             keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "server.ext",
                "-out",
                "cert.pem",
            ],
        );
        Pki {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        }
    }
}

/// One mail the server accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub tls: bool,
    pub login: Option<String>,
    /// The message with CRLF line ends.
    pub text: String,
}

/// The running server; killed and reaped on drop.
pub struct MailServer {
    child: Child,
    pub port: u16,
    out: PathBuf,
}

impl MailServer {
    /// Starts a server in `mode` with its files in `dir`; waits until it listens.
    pub fn start(dir: &Path, mode: Mode, pki: &Pki) -> MailServer {
        let python = if Path::new("/usr/bin/python3").exists() {
            "/usr/bin/python3"
        } else {
            "python3"
        };
        let name = format!("{mode:?}").to_lowercase();
        let out = dir.join(format!("mails-{name}"));
        fs::create_dir_all(&out).unwrap();
        let script = dir.join("smtpd.py");
        fs::write(&script, SERVER_PY).unwrap();
        let portfile = dir.join(format!("port-{name}"));
        let mode_word = match mode {
            Mode::Plain => "plain",
            Mode::StartTls => "starttls",
            Mode::Implicit => "implicit",
        };
        let log = dir.join(format!("smtpd-{name}.log"));
        let mut child = Command::new(python)
            .arg(&script)
            .arg(mode_word)
            .arg(&portfile)
            .arg(&out)
            .arg(&pki.cert)
            .arg(&pki.key)
            .arg(USER)
            .arg(PASSWORD)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
        let deadline = Instant::now() + Duration::from_secs(30);
        let port = loop {
            if let Some(p) = fs::read_to_string(&portfile)
                .ok()
                .and_then(|s| s.trim().parse().ok())
            {
                break p;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "the SMTP server exited ({status}); is python3-aiosmtpd installed (tests/run.sh installs it)?\n{}",
                    fs::read_to_string(&log).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "the SMTP server did not start");
            std::thread::sleep(Duration::from_millis(20));
        };
        MailServer { child, port, out }
    }

    /// The mails received so far, in order.
    pub fn mails(&self) -> Vec<Received> {
        let mut names: Vec<(u32, PathBuf)> = fs::read_dir(&self.out)
            .unwrap()
            .filter_map(|e| {
                let p = e.ok()?.path();
                let n = p
                    .file_name()?
                    .to_str()?
                    .strip_suffix(".mail")?
                    .parse()
                    .ok()?;
                Some((n, p))
            })
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|(_, p)| {
                let raw = fs::read_to_string(&p).unwrap();
                let (head, text) = raw.split_once('\n').unwrap();
                let head: serde_json::Value = serde_json::from_str(head).unwrap();
                Received {
                    from: head["from"].as_str().unwrap_or_default().to_string(),
                    to: head["to"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|t| t.as_str().unwrap().to_string())
                        .collect(),
                    tls: head["tls"].as_bool().unwrap(),
                    login: head["login"].as_str().map(str::to_string),
                    text: text.to_string(),
                }
            })
            .collect()
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
