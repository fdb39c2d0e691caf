//! A small client of Chromium's DevTools protocol over
//! `--remote-debugging-pipe`: the browser reads commands on its descriptor 3
//! and writes answers and events on its descriptor 4, each message one JSON
//! object ended by a NUL byte. Enough for the status page's test: load a
//! page, answer its HTTP Basic challenges as a user would in the browser's
//! dialog, evaluate script in it, take a screenshot. No Node, no WebSocket,
//! no crate that downloads a browser of its own.
//!
//! The browser runs headless with a profile in a temporary directory, in a
//! process group of its own; dropping [`Browser`] closes it, waits for it,
//! kills what is left of its group by that group's id, and removes the
//! profile.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

/// How long one protocol command may take (a navigation under load, too).
const COMMAND_DEADLINE: Duration = Duration::from_secs(60);

/// Where Debian's package puts the browser, if it is installed.
pub fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// What the reader thread shares with the test.
struct Shared {
    writer: Mutex<File>,
    ids: AtomicU64,
    credentials: Mutex<Option<(String, String)>>,
    /// Basic challenges answered.
    challenges: AtomicU32,
    /// Console messages and uncaught exceptions of the page.
    console: Mutex<Vec<String>>,
}

impl Shared {
    fn send(&self, method: &str, params: Value, session: Option<&str>) -> u64 {
        let id = self.ids.fetch_add(1, Ordering::SeqCst);
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        // A browser gone shows as a command that is never answered.
        let _ = writer.write_all(&bytes);
        id
    }

    /// Events the page's progress depends on are answered here, at once.
    fn on_event(&self, message: &Value) {
        let session = message["sessionId"].as_str();
        let params = &message["params"];
        match message["method"].as_str().unwrap_or_default() {
            "Fetch.requestPaused" => {
                self.send(
                    "Fetch.continueRequest",
                    json!({"requestId": params["requestId"]}),
                    session,
                );
            }
            "Fetch.authRequired" => {
                self.challenges.fetch_add(1, Ordering::SeqCst);
                let answer = match &*self.credentials.lock().unwrap() {
                    Some((user, password)) => json!({
                        "response": "ProvideCredentials", "username": user, "password": password
                    }),
                    None => json!({"response": "CancelAuth"}),
                };
                self.send(
                    "Fetch.continueWithAuth",
                    json!({"requestId": params["requestId"], "authChallengeResponse": answer}),
                    session,
                );
            }
            "Runtime.consoleAPICalled" => {
                let text: Vec<String> = params["args"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| a["value"].to_string())
                    .collect();
                self.console.lock().unwrap().push(text.join(" "));
            }
            "Runtime.exceptionThrown" => {
                self.console
                    .lock()
                    .unwrap()
                    .push(params["exceptionDetails"].to_string());
            }
            _ => {}
        }
    }
}

/// One headless Chromium with one page.
pub struct Browser {
    child: Child,
    shared: Arc<Shared>,
    answers: Receiver<Value>,
    session: String,
    profile: Option<TempDir>,
}

/// Gives the child the pipe ends as descriptors 3 and 4 (between fork and exec).
fn as_fds_3_and_4(commands: &OwnedFd, events: &OwnedFd, cmd: &mut Command) {
    let (commands, events) = (commands.as_raw_fd(), events.as_raw_fd());
    // SAFETY: only fcntl and dup2 between fork and exec, both async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            // Out of the way first, so that neither lands on the other's target.
            let high_commands = libc::fcntl(commands, libc::F_DUPFD_CLOEXEC, 10);
            let high_events = libc::fcntl(events, libc::F_DUPFD_CLOEXEC, 10);
            if high_commands < 0
                || high_events < 0
                || libc::dup2(high_commands, 3) < 0
                || libc::dup2(high_events, 4) < 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

impl Browser {
    /// Starts the browser (its output goes to `log` in the profile) and
    /// attaches to its page, answering Basic challenges with `credentials`.
    pub fn start(program: &Path, credentials: Option<(&str, &str)>) -> Browser {
        let profile = tempfile::Builder::new()
            .prefix("clp-cweb-chromium-")
            .tempdir()
            .unwrap();
        let (commands_read, commands_write) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        let (events_read, events_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        let log = File::create(profile.path().join("chromium.log")).unwrap();
        let mut cmd = Command::new(program);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--remote-debugging-pipe",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--password-store=basic",
            // Only here: clpd's certificate is generated per test root.
            "--ignore-certificate-errors",
            "--window-size=1200,1100",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("about:blank")
        .env("HOME", profile.path())
        .env("XDG_CONFIG_HOME", profile.path().join("config"))
        .env("XDG_CACHE_HOME", profile.path().join("cache"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .process_group(0);
        as_fds_3_and_4(&commands_read, &events_write, &mut cmd);
        let child = cmd.spawn().unwrap();
        // Only the browser holds its ends now: its exit ends our reads.
        drop((commands_read, events_write));

        let shared = Arc::new(Shared {
            writer: Mutex::new(File::from(commands_write)),
            ids: AtomicU64::new(1),
            credentials: Mutex::new(credentials.map(|(u, p)| (u.to_string(), p.to_string()))),
            challenges: AtomicU32::new(0),
            console: Mutex::new(Vec::new()),
        });
        let (to_test, answers) = channel();
        let reader_shared = shared.clone();
        std::thread::spawn(move || {
            read_messages(File::from(events_read), &reader_shared, &to_test)
        });

        let mut browser = Browser {
            child,
            shared,
            answers,
            session: String::new(),
            profile: Some(profile),
        };
        let targets = browser.call("Target.getTargets", json!({}));
        let page = targets["targetInfos"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["type"] == "page"))
            .map(|t| t["targetId"].clone())
            .unwrap_or_else(|| panic!("no page in {targets}\n{}", browser.log()));
        let attached = browser.call(
            "Target.attachToTarget",
            json!({"targetId": page, "flatten": true}),
        );
        browser.session = attached["sessionId"].as_str().unwrap().to_string();
        browser.call("Runtime.enable", json!({}));
        browser.call("Page.enable", json!({}));
        browser.call(
            "Fetch.enable",
            json!({"handleAuthRequests": true, "patterns": [{"urlPattern": "*"}]}),
        );
        browser
    }

    /// Sends `method` (to the page once attached) and waits for its answer.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let session = (!self.session.is_empty()).then_some(self.session.as_str());
        let id = self.shared.send(method, params, session);
        let deadline = Instant::now() + COMMAND_DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let answer = self.answers.recv_timeout(left).unwrap_or_else(|e| {
                panic!(
                    "{method}: no answer within {COMMAND_DEADLINE:?} ({e})\n{}",
                    self.log()
                )
            });
            if answer["id"].as_u64() != Some(id) {
                continue;
            }
            if let Some(error) = answer.get("error") {
                panic!("{method}: {error}\n{}", self.log());
            }
            return answer["result"].clone();
        }
    }

    /// Loads `url` in the page.
    pub fn navigate(&mut self, url: &str) {
        let answer = self.call("Page.navigate", json!({"url": url}));
        assert!(answer.get("errorText").is_none(), "{url}: {answer}");
    }

    /// Evaluates `expression` in the page (awaiting a promise); its value as JSON.
    pub fn eval(&mut self, expression: &str) -> Value {
        let answer = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(details) = answer.get("exceptionDetails") {
            panic!("{expression}: {details}\n{}", self.log());
        }
        answer["result"]["value"].clone()
    }

    /// Evaluates `expression` until it gives something other than null or
    /// false; that value. Fails after `within`, showing the page's text.
    pub fn wait_until(&mut self, what: &str, expression: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let value = self.eval(expression);
            if !value.is_null() && value != Value::Bool(false) {
                return value;
            }
            if Instant::now() > deadline {
                let text = self.eval("document.body ? document.body.innerText : ''");
                panic!(
                    "timed out after {within:?} waiting for {what}\n=== page\n{}\n{}",
                    text.as_str().unwrap_or_default(),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A PNG of the page as shown, written to `path`.
    pub fn screenshot(&mut self, path: &Path) {
        use base64::Engine;
        let shot = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// Basic challenges the browser met and answered so far.
    pub fn challenges(&self) -> u32 {
        self.shared.challenges.load(Ordering::SeqCst)
    }

    /// The page's console and the browser's own output, for a failure's message.
    pub fn log(&self) -> String {
        let console = self.shared.console.lock().unwrap().join("\n");
        let own = self
            .profile
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p.path().join("chromium.log")).ok())
            .unwrap_or_default();
        let tail: String = own
            .lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        format!("=== page console\n{console}\n=== chromium (last lines)\n{tail}")
    }
}

/// Reads the browser's messages: answers go to the test, events are handled.
fn read_messages(mut events: File, shared: &Shared, to_test: &Sender<Value>) {
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match events.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        pending.extend_from_slice(&buf[..n]);
        while let Some(end) = pending.iter().position(|b| *b == 0) {
            let message: Vec<u8> = pending.drain(..=end).collect();
            let Ok(message) = serde_json::from_slice::<Value>(&message[..end]) else {
                continue;
            };
            if message.get("id").is_some() {
                if to_test.send(message).is_err() {
                    return;
                }
            } else {
                shared.on_event(&message);
            }
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Asked to close; then waited for; then whatever is left of its
        // process group (renderers, the zygote) killed by the group's id.
        self.shared.send("Browser.close", json!({}), None);
        let pid = self.child.id() as i32;
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The group's last members may outlive the leader by a moment: wait
        // until none is left before the profile goes.
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline
            && nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), None).is_ok()
        {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(self.profile.take());
    }
}
