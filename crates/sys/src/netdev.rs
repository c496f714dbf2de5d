//! Network device control through `ioctl(2)` on a socket: flags, MTU, MAC, index.
//!
//! The calls act in the network namespace of the socket they are made on, not the calling
//! thread's: a driver keeps a control socket created in its device's namespace.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// A Linux interface name: at most 15 bytes, no NUL, not empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfName {
    bytes: [u8; libc::IFNAMSIZ],
}

impl IfName {
    /// Checks and stores `name`; `InvalidInput` if it is empty, too long or holds a NUL or
    /// a `/`.
    pub fn new(name: &str) -> io::Result<IfName> {
        let b = name.as_bytes();
        if b.is_empty() || b.len() >= libc::IFNAMSIZ || b.iter().any(|&c| c == 0 || c == b'/') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad interface name {name:?}"),
            ));
        }
        let mut bytes = [0u8; libc::IFNAMSIZ];
        bytes[..b.len()].copy_from_slice(b);
        Ok(IfName { bytes })
    }

    /// From the NUL-padded form the kernel returns (e.g. `TUNSETIFF`).
    fn from_raw(raw: &[libc::c_char; libc::IFNAMSIZ]) -> IfName {
        let mut bytes = [0u8; libc::IFNAMSIZ];
        for (d, s) in bytes.iter_mut().zip(raw.iter()).take(libc::IFNAMSIZ - 1) {
            *d = *s as u8;
        }
        IfName { bytes }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        let n = self
            .bytes
            .iter()
            .position(|&c| c == 0)
            .unwrap_or(self.bytes.len());
        std::str::from_utf8(&self.bytes[..n]).unwrap_or("?")
    }

    /// The name with its NUL terminator.
    pub fn as_cstr(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.bytes).unwrap_or(c"")
    }

    fn ifreq(&self) -> libc::ifreq {
        // SAFETY: `ifreq` is plain old data (integers, arrays, a union of those); all-zero is
        // a valid value.
        let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
        for (d, s) in ifr.ifr_name.iter_mut().zip(self.bytes.iter()) {
            *d = *s as libc::c_char;
        }
        ifr
    }
}

impl std::fmt::Display for IfName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A datagram socket used only for interface ioctls, in the namespace it was created in.
pub fn control_socket() -> io::Result<OwnedFd> {
    let fd = crate::syscall!(socket(
        libc::AF_INET,
        libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
        0
    ))?;
    // SAFETY: `socket` just returned this descriptor and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn ioctl_ifreq(sock: BorrowedFd<'_>, req: libc::Ioctl, ifr: &mut libc::ifreq) -> io::Result<()> {
    // SAFETY: every request passed here (SIOC[GS]IF*) reads and writes one `ifreq`, which
    // `ifr` points to for the duration of the call.
    crate::syscall!(ioctl(sock.as_raw_fd(), req, ifr as *mut libc::ifreq))?;
    Ok(())
}

/// The interface's index (`SIOCGIFINDEX`), in `sock`'s namespace.
pub fn index(sock: BorrowedFd<'_>, name: &IfName) -> io::Result<u32> {
    let mut ifr = name.ifreq();
    ioctl_ifreq(sock, libc::SIOCGIFINDEX, &mut ifr)?;
    // SAFETY: SIOCGIFINDEX filled the `ifru_ifindex` member of the union.
    let i = unsafe { ifr.ifr_ifru.ifru_ifindex };
    Ok(i as u32)
}

/// The interface flags (`IFF_UP`, `IFF_RUNNING`, ...).
pub fn flags(sock: BorrowedFd<'_>, name: &IfName) -> io::Result<u32> {
    let mut ifr = name.ifreq();
    ioctl_ifreq(sock, libc::SIOCGIFFLAGS, &mut ifr)?;
    // SAFETY: SIOCGIFFLAGS filled the `ifru_flags` member of the union.
    let f = unsafe { ifr.ifr_ifru.ifru_flags };
    Ok(u32::from(f as u16))
}

/// Sets or clears `IFF_UP` (administrative state).
pub fn set_up(sock: BorrowedFd<'_>, name: &IfName, up: bool) -> io::Result<()> {
    let mut f = flags(sock, name)?;
    if up {
        f |= libc::IFF_UP as u32;
    } else {
        f &= !(libc::IFF_UP as u32);
    }
    let mut ifr = name.ifreq();
    ifr.ifr_ifru.ifru_flags = f as u16 as libc::c_short;
    ioctl_ifreq(sock, libc::SIOCSIFFLAGS, &mut ifr)
}

/// The MTU (`SIOCGIFMTU`).
pub fn mtu(sock: BorrowedFd<'_>, name: &IfName) -> io::Result<u32> {
    let mut ifr = name.ifreq();
    ioctl_ifreq(sock, libc::SIOCGIFMTU, &mut ifr)?;
    // SAFETY: SIOCGIFMTU filled the `ifru_mtu` member of the union.
    let m = unsafe { ifr.ifr_ifru.ifru_mtu };
    Ok(m as u32)
}

/// Sets the MTU (`SIOCSIFMTU`).
pub fn set_mtu(sock: BorrowedFd<'_>, name: &IfName, mtu: u32) -> io::Result<()> {
    let mut ifr = name.ifreq();
    ifr.ifr_ifru.ifru_mtu = mtu as libc::c_int;
    ioctl_ifreq(sock, libc::SIOCSIFMTU, &mut ifr)
}

/// The Ethernet address (`SIOCGIFHWADDR`).
pub fn mac(sock: BorrowedFd<'_>, name: &IfName) -> io::Result<[u8; 6]> {
    let mut ifr = name.ifreq();
    ioctl_ifreq(sock, libc::SIOCGIFHWADDR, &mut ifr)?;
    // SAFETY: SIOCGIFHWADDR filled the `ifru_hwaddr` member of the union.
    let sa = unsafe { ifr.ifr_ifru.ifru_hwaddr };
    let mut m = [0u8; 6];
    for (d, s) in m.iter_mut().zip(sa.sa_data.iter()) {
        *d = *s as u8;
    }
    Ok(m)
}

/// Opens `/dev/net/tun` and attaches it to a TAP interface called `name` (created if it
/// does not exist) with `IFF_TAP | IFF_NO_PI`, non-blocking, in the calling thread's network
/// namespace. Returns the descriptor and the name the kernel gave.
pub fn open_tap(name: &IfName) -> io::Result<(OwnedFd, IfName)> {
    let fd = crate::syscall!(open(
        c"/dev/net/tun".as_ptr(),
        libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC
    ))?;
    // SAFETY: `open` just returned this descriptor and nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut ifr = name.ifreq();
    ifr.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
    // SAFETY: TUNSETIFF reads and writes one `ifreq`, which `ifr` points to.
    crate::syscall!(ioctl(
        fd.as_raw_fd(),
        libc::TUNSETIFF,
        &mut ifr as *mut libc::ifreq
    ))?;
    Ok((fd, IfName::from_raw(&ifr.ifr_name)))
}

/// Sets the offloads a TAP accepts from the kernel (`TUNSETOFFLOAD`, `TUN_F_*` bits); 0
/// makes the kernel complete checksums and segment before the frame reaches us.
pub fn set_tap_offload(tap: BorrowedFd<'_>, flags: u32) -> io::Result<()> {
    // SAFETY: TUNSETOFFLOAD takes its argument by value; no memory is passed.
    crate::syscall!(ioctl(
        tap.as_raw_fd(),
        libc::TUNSETOFFLOAD,
        flags as libc::c_ulong
    ))?;
    Ok(())
}

/// Reads one whole frame from a packet descriptor (TAP) into `buf`. `WouldBlock` when none
/// is waiting. A frame longer than `buf` is cut short (the return equals `buf.len()`).
pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the duration of the call.
    let n = crate::syscall!(read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()))?;
    Ok(n as usize)
}

/// Writes one whole frame to a packet descriptor (TAP). `WouldBlock` when the queue is full.
pub fn write(fd: BorrowedFd<'_>, frame: &[u8]) -> io::Result<usize> {
    // SAFETY: `frame` is valid for reads of `frame.len()` bytes for the duration of the call.
    let n = crate::syscall!(write(fd.as_raw_fd(), frame.as_ptr().cast(), frame.len()))?;
    Ok(n as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn names_are_checked() {
        assert!(IfName::new("").is_err());
        assert!(IfName::new("0123456789abcdef").is_err());
        assert!(IfName::new("a/b").is_err());
        let n = IfName::new("veth0").unwrap();
        assert_eq!(n.as_str(), "veth0");
        assert_eq!(n.as_cstr().to_bytes(), b"veth0");
    }

    #[test]
    fn loopback_is_readable() {
        let s = control_socket().unwrap();
        let lo = IfName::new("lo").unwrap();
        assert!(index(s.as_fd(), &lo).unwrap() >= 1);
        assert!(mtu(s.as_fd(), &lo).unwrap() >= 1280);
        assert!(flags(s.as_fd(), &IfName::new("nonexistent0").unwrap()).is_err());
    }
}
