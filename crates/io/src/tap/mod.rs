//! TAP: a virtual Ethernet interface toward the host kernel (the NetIO "knet" idea).
//!
//! uplane punts packets for the host to the TAP and forwards what the host sends to it.
//! The device is opened with `IFF_TAP | IFF_NO_PI` (whole Ethernet frames, no packet-info
//! prefix), non-blocking, and with offloads set explicitly to none (`TUNSETOFFLOAD 0`): the
//! kernel then completes checksums and segments before a frame reaches us, and expects
//! complete frames from us. One read or write moves one whole frame, straight into / out of
//! a pool buffer: no intermediate copy, no allocation.
//!
//! The TAP is created in the calling thread's network namespace (move a thread with
//! `setns` first to create it elsewhere); its control socket is created there too, so link
//! state, MTU and admin state work wherever the caller is later.

use crate::device::{Device, DeviceError, DeviceStats, HwInfo, LinkState};
use buf::{BufFlags, BufferCache, Frame, CHUNK_SIZE, HEADROOM};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use sys::netdev::{self, IfName};

/// The TAP input node's name.
pub const TAP_INPUT: &str = "tap-input";
/// The TAP output node's name.
pub const TAP_OUTPUT: &str = "tap-output";

/// Reads tried per rx burst before yielding (one frame's worth).
const RX_BUDGET: usize = buf::FRAME_SIZE;
/// Shortest frame accepted: an Ethernet header.
const MIN_FRAME: usize = 14;

/// A new `tap-input` node (attach devices with [`crate::device::DeviceInput::attach`]).
pub fn input_node() -> crate::device::DeviceInput {
    crate::device::DeviceInput::new(TAP_INPUT)
}

/// A new `tap-output` node (attach devices with [`crate::device::DeviceOutput::attach`]).
pub fn output_node() -> crate::device::DeviceOutput {
    crate::device::DeviceOutput::new(TAP_OUTPUT)
}

/// A TAP device with one rx and one tx queue.
#[derive(Debug)]
pub struct Tap {
    fd: OwnedFd,
    ctl: OwnedFd,
    name: IfName,
    info: HwInfo,
    stats: Arc<DeviceStats>,
    mac: [u8; 6],
}

impl Tap {
    /// Creates (or attaches to) TAP interface `name` in the calling thread's namespace, sets
    /// its offloads to none and brings it up.
    pub fn create(name: &str) -> Result<Tap, DeviceError> {
        let ifname = IfName::new(name).map_err(|_| DeviceError::BadName(name.into()))?;
        let os = |what: &'static str| {
            let ifname = name.to_string();
            move |source: io::Error| DeviceError::Os {
                what,
                ifname,
                source,
            }
        };
        let (fd, ifname) = netdev::open_tap(&ifname).map_err(os("open /dev/net/tun"))?;
        netdev::set_tap_offload(fd.as_fd(), 0).map_err(os("TUNSETOFFLOAD"))?;
        let ctl = netdev::control_socket().map_err(os("control socket"))?;
        netdev::set_up(ctl.as_fd(), &ifname, true).map_err(os("set admin up"))?;
        let mac = netdev::mac(ctl.as_fd(), &ifname).map_err(os("SIOCGIFHWADDR"))?;
        let info = HwInfo {
            driver: "tap",
            host_if: ifname.to_string(),
            mode: "IFF_TAP|IFF_NO_PI, non-blocking read/write of whole frames".into(),
            rx_queues: 1,
            tx_queues: 1,
            rx_ring: "kernel queue (txqueuelen)".into(),
            tx_ring: "kernel queue".into(),
            offloads: "none (TUNSETOFFLOAD 0): the kernel completes checksums and segments".into(),
        };
        Ok(Tap {
            fd,
            ctl,
            name: ifname,
            info,
            stats: DeviceStats::new(1, 1),
            mac,
        })
    }

    /// The host interface name.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }
}

impl Device for Tap {
    fn hw_info(&self) -> &HwInfo {
        &self.info
    }

    fn rx_burst(&mut self, queue: usize, cache: &mut BufferCache, frame: &mut Frame) -> usize {
        let Some(st) = self.stats.rx.get(queue) else {
            return 0;
        };
        let mut got = 0;
        for _ in 0..RX_BUDGET.min(frame.room()) {
            let Some(mut b) = cache.alloc() else {
                st.fill_empty.add(1);
                break;
            };
            let mut p = cache.pool().get_mut(&mut b);
            let room = &mut p.chunk_mut()[HEADROOM..];
            let max = room.len();
            match netdev::read(self.fd.as_fd(), room) {
                Ok(n) if n >= max => {
                    // Filled the whole buffer: the frame may have been longer.
                    st.drops.add(1);
                    st.oversize.add(1);
                    cache.free(b);
                }
                Ok(n) if n < MIN_FRAME => {
                    st.drops.add(1);
                    cache.free(b);
                }
                Ok(n) => {
                    p.set_window(HEADROOM, n);
                    st.packets.add(1);
                    st.bytes.add(n as u64);
                    got += 1;
                    if let Err(b) = frame.push(b) {
                        cache.free(b);
                    }
                }
                Err(_) => {
                    // WouldBlock (nothing waiting), or the interface went away / down.
                    cache.free(b);
                    break;
                }
            }
        }
        got
    }

    fn tx_burst(&mut self, queue: usize, frame: &mut Frame, cache: &mut BufferCache) -> usize {
        let Some(st) = self.stats.tx.get(queue) else {
            return 0;
        };
        let pool = cache.pool().clone();
        let mut taken = 0;
        for b in frame.as_slice() {
            let pkt = pool.get(b);
            if pkt.meta().flags.contains(BufFlags::NEXT_PRESENT) || pkt.data().len() > CHUNK_SIZE {
                st.drops.add(1);
                taken += 1;
                continue;
            }
            match netdev::write(self.fd.as_fd(), pkt.data()) {
                Ok(_) => {
                    st.packets.add(1);
                    st.bytes.add(pkt.data().len() as u64);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    st.ring_full.add(1);
                    break;
                }
                Err(_) => st.drops.add(1),
            }
            taken += 1;
        }
        for b in frame.drain().take(taken) {
            cache.free(b);
        }
        taken
    }

    fn link_state(&self) -> LinkState {
        match netdev::flags(self.ctl.as_fd(), &self.name) {
            Ok(f)
                if f & (libc_flags::UP | libc_flags::RUNNING)
                    == libc_flags::UP | libc_flags::RUNNING =>
            {
                LinkState::Up
            }
            Ok(_) => LinkState::Down,
            Err(_) => LinkState::Unknown,
        }
    }

    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn mtu(&self) -> u32 {
        netdev::mtu(self.ctl.as_fd(), &self.name).unwrap_or(0)
    }

    fn set_admin_up(&mut self, up: bool) -> Result<(), DeviceError> {
        netdev::set_up(self.ctl.as_fd(), &self.name, up).map_err(|source| DeviceError::Os {
            what: "set admin state",
            ifname: self.name.to_string(),
            source,
        })
    }

    fn stats(&self) -> &Arc<DeviceStats> {
        &self.stats
    }
}

/// Interface flag bits (`IFF_UP`, `IFF_RUNNING`), kept here so `io` needs no libc.
pub(crate) mod libc_flags {
    /// Administratively up.
    pub const UP: u32 = 0x1;
    /// Carrier present.
    pub const RUNNING: u32 = 0x40;
}
