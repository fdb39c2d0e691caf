//! SCSI TEST UNIT READY through the Linux SG_IO ioctl (`<scsi/sg.h>`).
//!
//! libc has no `sg_io_hdr`, so it is declared here with the kernel's layout
//! (checked by a size assertion on 64-bit targets). The command is the 6-byte
//! all-zero CDB with no data phase; the answer is judged from the SCSI status,
//! the host adapter and driver status, and the sense data:
//!
//! | outcome | verdict |
//! |---|---|
//! | GOOD, host and driver OK | ready |
//! | CHECK CONDITION, sense key NO SENSE or RECOVERED ERROR | ready |
//! | CHECK CONDITION, sense key UNIT ATTENTION | asked again once (a reset or media change is reported once, then cleared) |
//! | CHECK CONDITION, any other sense key (NOT READY, MEDIUM ERROR, …) | failed, with key and ASC/ASCQ |
//! | BUSY, TASK SET FULL, RESERVATION CONFLICT, … | failed, naming the status |
//! | a host adapter or driver error (DID_*, DRIVER_*) | failed, naming it |
//!
//! `ioctl` itself failing with ENOTTY (not a block device at all) or EINVAL
//! (a block device whose driver does not take SCSI commands: loop, virtio-blk,
//! dm, md, nvme) means the device does not speak SCSI: that is an error that
//! says so, never a false "ready".

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;

/// `SG_IO` from `<scsi/sg.h>`.
const SG_IO: libc::c_ulong = 0x2285;
/// `SG_DXFER_NONE`: no data phase.
const SG_DXFER_NONE: libc::c_int = -1;
/// `SG_INFO_OK_MASK` / `SG_INFO_CHECK` in `info`.
const SG_INFO_OK_MASK: u32 = 0x1;
/// `DRIVER_SENSE` in the low nibble of `driver_status`: sense data is valid.
const DRIVER_SENSE: u16 = 0x08;
/// Sense buffer size asked for (fixed format needs 18, descriptor more).
const SENSE_LEN: usize = 32;

/// `struct sg_io_hdr` (interface 'S'), as in `<scsi/sg.h>`.
#[repr(C)]
#[derive(Debug)]
pub struct SgIoHdr {
    pub interface_id: libc::c_int,
    pub dxfer_direction: libc::c_int,
    pub cmd_len: libc::c_uchar,
    pub mx_sb_len: libc::c_uchar,
    pub iovec_count: libc::c_ushort,
    pub dxfer_len: libc::c_uint,
    pub dxferp: *mut libc::c_void,
    pub cmdp: *mut libc::c_uchar,
    pub sbp: *mut libc::c_uchar,
    pub timeout: libc::c_uint,
    pub flags: libc::c_uint,
    pub pack_id: libc::c_int,
    pub usr_ptr: *mut libc::c_void,
    pub status: libc::c_uchar,
    pub masked_status: libc::c_uchar,
    pub msg_status: libc::c_uchar,
    pub sb_len_wr: libc::c_uchar,
    pub host_status: libc::c_ushort,
    pub driver_status: libc::c_ushort,
    pub resid: libc::c_int,
    pub duration: libc::c_uint,
    pub info: libc::c_uint,
}

#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<SgIoHdr>() == 88);

/// What the device answered, copied out of the header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TurAnswer {
    /// SCSI status byte (GOOD 0x00, CHECK CONDITION 0x02, …).
    pub status: u8,
    pub host_status: u16,
    pub driver_status: u16,
    /// `info`: bit 0 set when something went wrong.
    pub info: u32,
    /// The sense bytes written (`sb_len_wr` of them).
    pub sense: Vec<u8>,
}

/// The verdict on one TEST UNIT READY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Ready,
    /// Reported once after a reset or a media change: ask again.
    UnitAttention(String),
    Failed(String),
}

/// Why SG_IO could not be issued at all.
#[derive(Debug)]
pub enum SgError {
    /// ENOTTY or EINVAL: the device does not take SCSI commands.
    NotScsi(io::Error),
    Other(io::Error),
}

/// Issues TEST UNIT READY on `fd`, with the device-level `timeout`.
pub fn test_unit_ready(fd: BorrowedFd<'_>, timeout: Duration) -> Result<TurAnswer, SgError> {
    let mut cdb = [0u8; 6];
    let mut sense = [0u8; SENSE_LEN];
    let mut hdr = SgIoHdr {
        interface_id: libc::c_int::from(b'S'),
        dxfer_direction: SG_DXFER_NONE,
        cmd_len: 6,
        mx_sb_len: SENSE_LEN as u8,
        iovec_count: 0,
        dxfer_len: 0,
        dxferp: std::ptr::null_mut(),
        cmdp: cdb.as_mut_ptr(),
        sbp: sense.as_mut_ptr(),
        timeout: timeout_ms(timeout),
        flags: 0,
        pack_id: 0,
        usr_ptr: std::ptr::null_mut(),
        status: 0,
        masked_status: 0,
        msg_status: 0,
        sb_len_wr: 0,
        host_status: 0,
        driver_status: 0,
        resid: 0,
        duration: 0,
        info: 0,
    };
    // SAFETY: `hdr` is a correctly laid out sg_io_hdr whose pointers (the CDB
    // and the sense buffer, with their lengths) stay valid for the call; no
    // data phase, so `dxferp` is null with `dxfer_len` 0.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), SG_IO as _, &mut hdr as *mut SgIoHdr) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        return Err(match e.raw_os_error() {
            Some(libc::ENOTTY) | Some(libc::EINVAL) => SgError::NotScsi(e),
            _ => SgError::Other(e),
        });
    }
    let written = usize::from(hdr.sb_len_wr).min(SENSE_LEN);
    Ok(TurAnswer {
        status: hdr.status,
        host_status: hdr.host_status,
        driver_status: hdr.driver_status,
        info: hdr.info,
        sense: sense[..written].to_vec(),
    })
}

/// The SG_IO timeout in milliseconds (0 would mean the driver's default).
fn timeout_ms(timeout: Duration) -> u32 {
    u32::try_from(timeout.as_millis())
        .unwrap_or(u32::MAX - 1)
        .max(1)
}

/// Sense key, ASC and ASCQ from fixed (0x70/0x71) or descriptor (0x72/0x73)
/// format sense data.
pub fn parse_sense(sense: &[u8]) -> Option<(u8, u8, u8)> {
    let code = sense.first()? & 0x7f;
    match code {
        0x70 | 0x71 => {
            let key = sense.get(2)? & 0x0f;
            let asc = sense.get(12).copied().unwrap_or(0);
            let ascq = sense.get(13).copied().unwrap_or(0);
            Some((key, asc, ascq))
        }
        0x72 | 0x73 => {
            let key = sense.get(1)? & 0x0f;
            let asc = sense.get(2).copied().unwrap_or(0);
            let ascq = sense.get(3).copied().unwrap_or(0);
            Some((key, asc, ascq))
        }
        _ => None,
    }
}

pub fn sense_key_name(key: u8) -> &'static str {
    match key {
        0x0 => "NO SENSE",
        0x1 => "RECOVERED ERROR",
        0x2 => "NOT READY",
        0x3 => "MEDIUM ERROR",
        0x4 => "HARDWARE ERROR",
        0x5 => "ILLEGAL REQUEST",
        0x6 => "UNIT ATTENTION",
        0x7 => "DATA PROTECT",
        0x8 => "BLANK CHECK",
        0x9 => "VENDOR SPECIFIC",
        0xa => "COPY ABORTED",
        0xb => "ABORTED COMMAND",
        0xd => "VOLUME OVERFLOW",
        0xe => "MISCOMPARE",
        _ => "RESERVED",
    }
}

fn status_name(status: u8) -> String {
    match status {
        0x00 => "GOOD".into(),
        0x02 => "CHECK CONDITION".into(),
        0x04 => "CONDITION MET".into(),
        0x08 => "BUSY".into(),
        0x18 => "RESERVATION CONFLICT (reserved by another initiator)".into(),
        0x28 => "TASK SET FULL".into(),
        0x30 => "ACA ACTIVE".into(),
        0x40 => "TASK ABORTED".into(),
        s => format!("status 0x{s:02x}"),
    }
}

fn host_name(host: u16) -> String {
    let name = match host {
        0x01 => "DID_NO_CONNECT (no connection to the device)",
        0x02 => "DID_BUS_BUSY",
        0x03 => "DID_TIME_OUT (the command timed out)",
        0x04 => "DID_BAD_TARGET (the device is gone)",
        0x05 => "DID_ABORT",
        0x06 => "DID_PARITY",
        0x07 => "DID_ERROR (host adapter error)",
        0x08 => "DID_RESET",
        0x09 => "DID_BAD_INTR",
        0x0a => "DID_PASSTHROUGH",
        0x0b => "DID_SOFT_ERROR",
        0x0c => "DID_IMM_RETRY",
        0x0d => "DID_REQUEUE",
        0x0e => "DID_TRANSPORT_DISRUPTED",
        0x0f => "DID_TRANSPORT_FAILFAST",
        0x10 => "DID_TARGET_FAILURE",
        0x11 => "DID_NEXUS_FAILURE",
        0x12 => "DID_ALLOC_FAILURE",
        0x13 => "DID_MEDIUM_ERROR",
        0x14 => "DID_TRANSPORT_MARGINAL",
        _ => return format!("host status 0x{host:02x}"),
    };
    name.into()
}

fn driver_name(driver: u16) -> String {
    let name = match driver & 0x0f {
        0x1 => "DRIVER_BUSY",
        0x2 => "DRIVER_SOFT",
        0x3 => "DRIVER_MEDIA",
        0x4 => "DRIVER_ERROR",
        0x5 => "DRIVER_INVALID",
        0x6 => "DRIVER_TIMEOUT (the command timed out)",
        0x7 => "DRIVER_HARD",
        _ => return format!("driver status 0x{driver:02x}"),
    };
    name.into()
}

/// Judges one answer (see the module's table).
pub fn judge(a: &TurAnswer) -> Verdict {
    let sense = parse_sense(&a.sense);
    if a.host_status != 0 {
        return Verdict::Failed(format!(
            "TEST UNIT READY failed: {}",
            host_name(a.host_status)
        ));
    }
    let driver = a.driver_status & 0x0f;
    if driver != 0 && driver != DRIVER_SENSE {
        return Verdict::Failed(format!(
            "TEST UNIT READY failed: {}",
            driver_name(a.driver_status)
        ));
    }
    // The SCSI status byte; some drivers leave it GOOD and only flag the sense.
    let check = a.status == 0x02 || (driver == DRIVER_SENSE && sense.is_some());
    if check {
        return match sense {
            Some((0x0 | 0x1, _, _)) => Verdict::Ready,
            Some((0x6, asc, ascq)) => Verdict::UnitAttention(format!(
                "UNIT ATTENTION (ASC 0x{asc:02x}, ASCQ 0x{ascq:02x})"
            )),
            Some((key, asc, ascq)) => Verdict::Failed(format!(
                "the device is not ready: sense key {} (ASC 0x{asc:02x}, ASCQ 0x{ascq:02x}{})",
                sense_key_name(key),
                asc_hint(asc, ascq)
                    .map(|h| format!(": {h}"))
                    .unwrap_or_default()
            )),
            None => Verdict::Failed("TEST UNIT READY: CHECK CONDITION without sense data".into()),
        };
    }
    if a.status != 0x00 {
        return Verdict::Failed(format!(
            "TEST UNIT READY answered {}",
            status_name(a.status)
        ));
    }
    if a.info & SG_INFO_OK_MASK != 0 {
        return Verdict::Failed(format!(
            "TEST UNIT READY reported a problem (info 0x{:x})",
            a.info
        ));
    }
    Verdict::Ready
}

/// A few common additional sense codes, spelled out.
fn asc_hint(asc: u8, ascq: u8) -> Option<&'static str> {
    Some(match (asc, ascq) {
        (0x04, 0x00) => "logical unit not ready, cause not reportable",
        (0x04, 0x01) => "logical unit is becoming ready",
        (0x04, 0x02) => "logical unit not ready, initializing command required",
        (0x04, 0x03) => "logical unit not ready, manual intervention required",
        (0x04, _) => "logical unit not ready",
        (0x05, 0x00) => "logical unit does not respond to selection",
        (0x11, _) => "unrecovered read error",
        (0x25, 0x00) => "logical unit not supported",
        (0x3a, _) => "medium not present",
        (0x3e, _) => "logical unit has not self-configured yet",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(key: u8, asc: u8, ascq: u8) -> Vec<u8> {
        let mut s = vec![0u8; 18];
        s[0] = 0x70;
        s[2] = key;
        s[7] = 10;
        s[12] = asc;
        s[13] = ascq;
        s
    }

    fn check(sense: Vec<u8>) -> TurAnswer {
        TurAnswer {
            status: 0x02,
            driver_status: DRIVER_SENSE,
            info: 1,
            sense,
            ..TurAnswer::default()
        }
    }

    #[test]
    fn header_layout_matches_the_kernel() {
        assert_eq!(std::mem::size_of::<SgIoHdr>(), 88);
        assert_eq!(std::mem::offset_of!(SgIoHdr, dxferp), 16);
        assert_eq!(std::mem::offset_of!(SgIoHdr, timeout), 40);
        assert_eq!(std::mem::offset_of!(SgIoHdr, usr_ptr), 56);
        assert_eq!(std::mem::offset_of!(SgIoHdr, status), 64);
        assert_eq!(std::mem::offset_of!(SgIoHdr, host_status), 68);
        assert_eq!(std::mem::offset_of!(SgIoHdr, info), 80);
    }

    #[test]
    fn sense_formats() {
        assert_eq!(
            parse_sense(&fixed(0x2, 0x04, 0x01)),
            Some((0x2, 0x04, 0x01))
        );
        // Deferred error, fixed format.
        let mut d = fixed(0x3, 0x11, 0x00);
        d[0] = 0xf1; // valid bit + 0x71
        assert_eq!(parse_sense(&d), Some((0x3, 0x11, 0x00)));
        assert_eq!(
            parse_sense(&[0x72, 0x06, 0x29, 0x00, 0, 0, 0, 0]),
            Some((0x6, 0x29, 0x00))
        );
        assert_eq!(parse_sense(&[]), None);
        assert_eq!(parse_sense(&[0x00, 0, 0]), None);
        // Truncated fixed sense: the key alone.
        assert_eq!(parse_sense(&[0x70, 0, 0x02]), Some((0x2, 0, 0)));
    }

    #[test]
    fn good_is_ready() {
        assert_eq!(judge(&TurAnswer::default()), Verdict::Ready);
    }

    #[test]
    fn no_sense_and_recovered_error_are_ready() {
        assert_eq!(judge(&check(fixed(0x0, 0, 0))), Verdict::Ready);
        assert_eq!(judge(&check(fixed(0x1, 0x17, 0x01))), Verdict::Ready);
    }

    #[test]
    fn not_ready_names_key_and_codes() {
        let Verdict::Failed(m) = judge(&check(fixed(0x2, 0x3a, 0x00))) else {
            panic!("not a failure");
        };
        assert!(m.contains("NOT READY"), "{m}");
        assert!(m.contains("ASC 0x3a, ASCQ 0x00"), "{m}");
        assert!(m.contains("medium not present"), "{m}");
        let Verdict::Failed(m) = judge(&check(fixed(0x3, 0x11, 0x00))) else {
            panic!("not a failure");
        };
        assert!(m.contains("MEDIUM ERROR"), "{m}");
    }

    #[test]
    fn unit_attention_is_asked_again() {
        assert!(matches!(
            judge(&check(fixed(0x6, 0x29, 0x00))),
            Verdict::UnitAttention(m) if m.contains("ASC 0x29")
        ));
        // Descriptor format too.
        assert!(matches!(
            judge(&check(vec![0x72, 0x06, 0x28, 0x00, 0, 0, 0, 0])),
            Verdict::UnitAttention(_)
        ));
    }

    #[test]
    fn bad_statuses_fail() {
        for (status, word) in [
            (0x08, "BUSY"),
            (0x18, "RESERVATION CONFLICT"),
            (0x28, "TASK SET FULL"),
        ] {
            let a = TurAnswer {
                status,
                info: 1,
                ..TurAnswer::default()
            };
            assert!(
                matches!(judge(&a), Verdict::Failed(m) if m.contains(word)),
                "{status:#x}"
            );
        }
        let a = check(Vec::new());
        assert!(matches!(judge(&a), Verdict::Failed(m) if m.contains("without sense")));
    }

    #[test]
    fn host_and_driver_errors_fail() {
        let a = TurAnswer {
            host_status: 0x01,
            info: 1,
            ..TurAnswer::default()
        };
        assert!(matches!(judge(&a), Verdict::Failed(m) if m.contains("DID_NO_CONNECT")));
        let a = TurAnswer {
            host_status: 0x03,
            ..TurAnswer::default()
        };
        assert!(matches!(judge(&a), Verdict::Failed(m) if m.contains("timed out")));
        let a = TurAnswer {
            driver_status: 0x06,
            ..TurAnswer::default()
        };
        assert!(matches!(judge(&a), Verdict::Failed(m) if m.contains("DRIVER_TIMEOUT")));
        // info alone.
        let a = TurAnswer {
            info: 1,
            ..TurAnswer::default()
        };
        assert!(matches!(judge(&a), Verdict::Failed(_)));
    }

    #[test]
    fn timeouts_in_milliseconds() {
        assert_eq!(timeout_ms(Duration::from_secs(120)), 120_000);
        assert_eq!(timeout_ms(Duration::ZERO), 1);
        assert_eq!(timeout_ms(Duration::from_secs(u64::MAX)), u32::MAX - 1);
    }

    #[test]
    fn sg_io_on_a_regular_file_is_not_scsi() {
        let f = tempfile::tempfile().unwrap();
        use std::os::fd::AsFd;
        assert!(matches!(
            test_unit_ready(f.as_fd(), Duration::from_secs(1)),
            Err(SgError::NotScsi(e)) if e.raw_os_error() == Some(libc::ENOTTY)
        ));
    }
}
