//! The two ways clp writes a local time, without a format string.
//!
//! Every log line and every alert carries a time, and clpd writes them on its
//! event loop, some of them between a process's death and the start of its
//! recovery. chrono's `format` parses its pattern on every call; writing the
//! few fields directly costs a fraction of that. The text is the same as
//! chrono's for the patterns named below (the tests compare them).

use std::fmt::Write;

use chrono::{DateTime, Datelike, TimeZone, Timelike};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Appends `%Y/%m/%d %H:%M:%S%.3f` (`2024/03/05 03:04:05.123`): the time of
/// clp's log lines and alert log records.
pub fn push_stamp<Tz: TimeZone>(out: &mut String, t: &DateTime<Tz>) {
    let year = t.year();
    if (0..=9999).contains(&year) {
        let _ = write!(out, "{year:04}");
    } else {
        // chrono's %Y: a sign and at least four digits outside 0..=9999.
        let _ = write!(out, "{year:+05}");
    }
    let _ = write!(
        out,
        "/{:02}/{:02} {:02}:{:02}:{:02}.{:03}",
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second() + t.nanosecond() / 1_000_000_000,
        t.nanosecond() / 1_000_000 % 1000
    );
}

/// `%Y/%m/%d %H:%M:%S%.3f` as a new string (see [`push_stamp`]).
pub fn stamp<Tz: TimeZone>(t: &DateTime<Tz>) -> String {
    let mut out = String::with_capacity(23);
    push_stamp(&mut out, t);
    out
}

/// Appends `%b %e %H:%M:%S` (`Mar  5 03:04:05`): the time of a syslog
/// datagram, English month, the day padded with a space.
pub fn push_syslog_stamp<Tz: TimeZone>(out: &mut String, t: &DateTime<Tz>) {
    let month = MONTHS[(t.month0() as usize).min(11)];
    let _ = write!(
        out,
        "{month} {:>2} {:02}:{:02}:{:02}",
        t.day(),
        t.hour(),
        t.minute(),
        t.second() + t.nanosecond() / 1_000_000_000
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::{Duration, FixedOffset, Local, NaiveDate, Utc};

    fn both(t: DateTime<FixedOffset>) {
        assert_eq!(stamp(&t), t.format("%Y/%m/%d %H:%M:%S%.3f").to_string());
        let mut syslog = String::new();
        push_syslog_stamp(&mut syslog, &t);
        assert_eq!(syslog, t.format("%b %e %H:%M:%S").to_string());
    }

    #[test]
    fn the_text_is_chronos() {
        let zone = FixedOffset::east_opt(9 * 3600).unwrap();
        let start = zone.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        // Every month, single- and two-digit days, hours and milliseconds.
        let mut t = start;
        while t < start + Duration::days(400) {
            both(t);
            t += Duration::milliseconds(86_400_000 / 7 + 12_345);
        }
        both(zone.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap());
        // Years outside 0..=9999 carry a sign, as chrono writes them.
        both(zone.with_ymd_and_hms(-5, 3, 5, 3, 4, 5).unwrap());
        both(zone.with_ymd_and_hms(12345, 3, 5, 3, 4, 5).unwrap());
        // A leap second shows as :60, as chrono writes it.
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_milli_opt(23, 59, 59, 1_500)
            .unwrap()
            .and_utc()
            .fixed_offset();
        both(leap);
        let now = Local::now();
        assert_eq!(stamp(&now), now.format("%Y/%m/%d %H:%M:%S%.3f").to_string());
        let utc = Utc::now();
        assert_eq!(stamp(&utc), utc.format("%Y/%m/%d %H:%M:%S%.3f").to_string());
    }
}
