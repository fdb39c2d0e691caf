//! `clpalert`: read the alert log from the shell, newest first (a clp extension;
//! CLUSTERPRO shows the alert log in its WebUI only).
//!
//! Filters combine (all must match): `--level` keeps alerts of at least that
//! level, `--module` and `--id` keep the named modules and event ids, `--since`
//! keeps alerts at or after a time; `-n` then keeps the newest N. Output: one
//! line per alert, `date time server module id level message`, columns padded;
//! or with `--json` a JSON array of the alert records as the alert log stores
//! them (`time`, `unix_ms`, `server`, `module`, `event_id`, `level`, `message`).

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone};
use clap::Parser;

use super::clplogcmd::parse_level;
use super::{Ctx, Program};
use crate::alert::{Alert, Level, alert_log_path, read_alerts};
use crate::error::{ClpError, ErrorKind, Result};

/// Show the alert log, newest first, with filters (clp extension).
#[derive(Debug, Parser)]
#[command(name = "clpalert", version)]
pub struct Args {
    /// Only alerts of at least this level: info, warning or error (any case; i, w, warn, e, err accepted)
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    pub level: Option<Level>,
    /// Only alerts of this module (rm, rc, pm, logcmd, ...); repeat for several
    #[arg(long, value_name = "MODULE")]
    pub module: Vec<String>,
    /// Only alerts with this event id; repeat for several
    #[arg(long, value_name = "ID")]
    pub id: Vec<u32>,
    /// Only alerts at or after TIME: "YYYY/MM/DD HH:MM:SS", YYYY-MM-DD, or a relative 30s, 10m, 2h, 1d
    #[arg(long, value_name = "TIME", value_parser = parse_since)]
    pub since: Option<Since>,
    /// At most N alerts (the newest)
    #[arg(short = 'n', value_name = "N")]
    pub count: Option<usize>,
    /// Print a JSON array of the alert records
    #[arg(long)]
    pub json: bool,
}

/// A `--since` bound: milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Since(pub i64);

/// Parses `--since`: an absolute local time (`YYYY/MM/DD HH:MM:SS`,
/// `YYYY-MM-DD HH:MM:SS`, `YYYY-MM-DDTHH:MM:SS`, either without seconds, or a
/// date alone meaning its midnight) or a time relative to now (`30s`, `10m`,
/// `2h`, `1d`).
pub fn parse_since(text: &str) -> std::result::Result<Since, String> {
    parse_since_at(text, Local::now())
}

fn parse_since_at(text: &str, now: DateTime<Local>) -> std::result::Result<Since, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "cannot read time {text:?}: use \"YYYY/MM/DD HH:MM:SS\", YYYY-MM-DD, or a relative time like 30s, 10m, 2h, 1d"
        )
    };
    if let Some(unit) = t.chars().last().filter(|c| "smhd".contains(*c)) {
        let digits = &t[..t.len() - 1];
        if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
            let n: i64 = digits.parse().map_err(|_| bad())?;
            let secs = match unit {
                's' => Some(n),
                'm' => n.checked_mul(60),
                'h' => n.checked_mul(3600),
                _ => n.checked_mul(86_400),
            }
            .ok_or_else(bad)?;
            let ms = secs.checked_mul(1000).ok_or_else(bad)?;
            return Ok(Since(now.timestamp_millis().saturating_sub(ms)));
        }
    }
    let datetime_formats = [
        "%Y/%m/%d %H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y/%m/%d %H:%M",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ];
    let naive = datetime_formats
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
        .or_else(|| {
            ["%Y/%m/%d", "%Y-%m-%d"]
                .iter()
                .find_map(|f| NaiveDate::parse_from_str(t, f).ok())
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .ok_or_else(bad)?;
    // A local time skipped by a DST change has no instant: take the earliest
    // valid reading, else reject.
    let local = Local
        .from_local_datetime(&naive)
        .earliest()
        .ok_or_else(|| format!("time {text:?} does not exist in the local time zone"))?;
    Ok(Since(local.timestamp_millis()))
}

impl Args {
    fn keeps(&self, a: &Alert) -> bool {
        self.level.is_none_or(|l| a.level >= l)
            && (self.module.is_empty() || self.module.contains(&a.module))
            && (self.id.is_empty() || self.id.contains(&a.event_id))
            && self.since.is_none_or(|s| a.unix_ms >= s.0)
    }
}

/// The alerts of `all` (oldest first, as in the file) that `args` keeps,
/// newest first.
fn select(args: &Args, all: Vec<Alert>) -> Vec<Alert> {
    let mut kept: Vec<Alert> = all.into_iter().filter(|a| args.keeps(a)).collect();
    kept.reverse();
    // Appends from several processes may be slightly out of order: order by
    // time, later file position first among equals (the sort is stable).
    kept.sort_by_key(|a| std::cmp::Reverse(a.unix_ms));
    if let Some(n) = args.count {
        kept.truncate(n);
    }
    kept
}

/// The listing for people: a table fitted to the terminal.
fn render_table(alerts: &[Alert], width: u16) -> String {
    let rows: Vec<Vec<String>> = alerts
        .iter()
        .map(|a| {
            vec![
                a.time.clone(),
                a.server.clone(),
                a.module.clone(),
                a.event_id.to_string(),
                a.level.as_str().to_string(),
                printable(&a.message),
            ]
        })
        .collect();
    super::table::render(
        &["Time", "Server", "Module", "ID", "Level", "Message"],
        &rows,
        width,
        &[0, 1, 2, 3, 4],
    )
}

/// Control characters (a newline in a message) shown as spaces.
fn printable(message: &str) -> String {
    message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The text lines: `time server module id level message`, columns padded
/// (the layout when stdout is not a terminal).
fn render(alerts: &[Alert]) -> String {
    let w_server = alerts.iter().map(|a| a.server.len()).max().unwrap_or(0);
    let w_module = alerts.iter().map(|a| a.module.len()).max().unwrap_or(0);
    let w_id = alerts
        .iter()
        .map(|a| a.event_id.to_string().len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for a in alerts {
        let message = printable(&a.message);
        out.push_str(&format!(
            "{}  {:<w_server$}  {:<w_module$}  {:>w_id$}  {:<7}  {message}\n",
            a.time,
            a.server,
            a.module,
            a.event_id,
            a.level.as_str(),
        ));
    }
    out
}

impl Program for Args {
    fn run(self, ctx: &mut Ctx) -> Result<u8> {
        let path = alert_log_path(&ctx.paths);
        if !path.exists() {
            ctx.warn(&format!("no alert log at {} yet", path.display()));
        }
        let alerts = select(&self, read_alerts(&path));
        if self.json {
            let text = serde_json::to_string_pretty(&alerts)
                .map_err(|e| ClpError::new(ErrorKind::Internal, e.to_string()))?;
            ctx.println(&text)?;
        } else if alerts.is_empty() {
            // Nothing to show: no table with a header only either.
        } else {
            let text = match super::table::Layout::for_stdout() {
                super::table::Layout::Terminal(width) => render_table(&alerts, width),
                super::table::Layout::Plain => render(&alerts),
            };
            ctx.print(&text)?;
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Args {
        let mut argv = vec!["clpalert"];
        argv.extend_from_slice(extra);
        Args::try_parse_from(argv).unwrap()
    }

    fn alert(ms: i64, module: &str, id: u32, level: Level) -> Alert {
        let when = Local.timestamp_millis_opt(ms).single().unwrap();
        Alert::at(when, "n1", module, id, level, format!("{module} {id}"))
    }

    #[test]
    fn since_formats() {
        let now = Local
            .with_ymd_and_hms(2026, 3, 10, 12, 0, 0)
            .single()
            .unwrap();
        let ms = |s: &str| parse_since_at(s, now).unwrap().0;
        assert_eq!(ms("10m"), now.timestamp_millis() - 600_000);
        assert_eq!(ms("2h"), now.timestamp_millis() - 7_200_000);
        assert_eq!(ms("1d"), now.timestamp_millis() - 86_400_000);
        assert_eq!(ms("30s"), now.timestamp_millis() - 30_000);
        let t = Local
            .with_ymd_and_hms(2026, 3, 9, 8, 7, 6)
            .single()
            .unwrap();
        assert_eq!(ms("2026/03/09 08:07:06"), t.timestamp_millis());
        assert_eq!(ms("2026-03-09 08:07:06"), t.timestamp_millis());
        assert_eq!(ms("2026-03-09T08:07:06"), t.timestamp_millis());
        let midnight = Local
            .with_ymd_and_hms(2026, 3, 9, 0, 0, 0)
            .single()
            .unwrap();
        assert_eq!(ms("2026-03-09"), midnight.timestamp_millis());
        assert_eq!(ms("2026/03/09"), midnight.timestamp_millis());
        for bad in [
            "",
            "m",
            "10x",
            "-5m",
            "yesterday",
            "2026/13/01",
            "99999999999999999d",
        ] {
            assert!(parse_since_at(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn filters_and_order() {
        let all = vec![
            alert(1_000, "rm", 1, Level::Info),
            alert(2_000, "rm", 9, Level::Error),
            alert(3_000, "rc", 12, Level::Error),
            alert(4_000, "logcmd", 1, Level::Warning),
            alert(4_000, "logcmd", 2, Level::Info),
        ];
        let ids = |a: &[Alert]| a.iter().map(|a| a.event_id).collect::<Vec<_>>();
        assert_eq!(ids(&select(&args(&[]), all.clone())), [2, 1, 12, 9, 1]);
        assert_eq!(
            ids(&select(&args(&["--level", "warn"]), all.clone())),
            [1, 12, 9]
        );
        assert_eq!(
            ids(&select(
                &args(&["--level", "ERROR", "--module", "rm"]),
                all.clone()
            )),
            [9]
        );
        assert_eq!(
            ids(&select(
                &args(&["--module", "rm", "--module", "rc"]),
                all.clone()
            )),
            [12, 9, 1]
        );
        assert_eq!(ids(&select(&args(&["-n", "2"]), all.clone())), [2, 1]);
        let since = Local.timestamp_millis_opt(3_000).single().unwrap();
        let since = since.format("%Y/%m/%d %H:%M:%S").to_string();
        assert_eq!(
            ids(&select(&args(&["--since", &since]), all.clone())),
            [2, 1, 12]
        );
        assert_eq!(ids(&select(&args(&["--id", "9"]), all.clone())), [9]);
        let text = render(&select(&args(&["-n", "2"]), all));
        let first = text.lines().next().unwrap();
        assert!(
            first.ends_with("  n1  logcmd  2  Info     logcmd 2"),
            "{first}"
        );
    }
}
