//! A raw packet socket (`AF_PACKET`, `SOCK_RAW`) bound to one interface:
//! whole Ethernet frames out, and the frames of one protocol in, each read
//! with a deadline.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Instant;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::frames::Mac;

pub struct PacketSocket {
    fd: OwnedFd,
    index: u32,
    /// The interface's hardware address.
    pub mac: Mac,
}

fn sockaddr(index: u32, protocol: u16) -> io::Result<libc::sockaddr_ll> {
    // SAFETY: sockaddr_ll is plain old data; all zeroes is a valid value.
    let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as libc::c_ushort;
    addr.sll_protocol = protocol.to_be();
    addr.sll_ifindex = i32::try_from(index)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface index too large"))?;
    Ok(addr)
}

impl PacketSocket {
    /// A socket on interface `index` that receives frames of `protocol`
    /// (an EtherType).
    pub fn open(index: u32, protocol: u16) -> io::Result<PacketSocket> {
        // SAFETY: socket(2) with constant arguments; the result is checked.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                i32::from(protocol.to_be()),
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a socket we just opened and own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut addr = sockaddr(index, protocol)?;
        let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: `addr` is a valid sockaddr_ll of `len` bytes.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_ll).cast(),
                len,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        // The kernel reports the interface's hardware address in the bound name.
        let mut got = len;
        // SAFETY: `addr` has room for `got` bytes, which getsockname may fill.
        let rc = unsafe {
            libc::getsockname(
                fd.as_raw_fd(),
                (&mut addr as *mut libc::sockaddr_ll).cast(),
                &mut got,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        if addr.sll_halen != 6 {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the interface has no Ethernet address",
            ));
        }
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&addr.sll_addr[..6]);
        Ok(PacketSocket { fd, index, mac })
    }

    /// Sends one whole Ethernet frame.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        let protocol =
            u16::from_be_bytes([*frame.get(12).unwrap_or(&0), *frame.get(13).unwrap_or(&0)]);
        let mut addr = sockaddr(self.index, protocol)?;
        addr.sll_halen = 6;
        addr.sll_addr[..6].copy_from_slice(frame.get(0..6).unwrap_or(&[0xff; 6]));
        // SAFETY: `frame` and `addr` are valid for the lengths given.
        let rc = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// The next frame received before `deadline`, `None` once it passed.
    pub fn receive(&self, deadline: Instant, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let ms = u16::try_from(left.as_millis().max(1)).unwrap_or(u16::MAX);
            let mut fds = [PollFd::new(
                std::os::fd::AsFd::as_fd(&self.fd),
                PollFlags::POLLIN,
            )];
            match poll(&mut fds, PollTimeout::from(ms)) {
                Ok(0) => continue,
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
            // SAFETY: `buf` is valid for writes of its length.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            return Ok(Some(usize::try_from(n).unwrap_or(0)));
        }
    }
}
