//! uplane's userland TCP/IP stack, sans-IO (issue 6).
//!
//! Nothing in this crate reads a clock, opens a socket or starts a thread. The caller hands
//! in segments and the current time (nanoseconds on any monotonic clock, [`Instant`]) and
//! takes out segments and the next deadline, in the style of `quinn-proto`:
//!
//! * `handle_segment(now, ..)`: a TCP segment arrived (already parsed by [`wire`]);
//! * `handle_timeout(now)`: the deadline from `poll_timeout` has passed;
//! * `poll_transmit(now, buf)`: call until `None`; each `Some` is one segment to send;
//! * `poll_timeout()`: the earliest instant at which `handle_timeout` must be called;
//! * `poll_event()`: what changed for the application (connected, readable, ...).
//!
//! After any `handle_*` call or application operation (`send`, `recv`, `close`), call
//! `poll_transmit` until `None`, drain `poll_event`, and re-read `poll_timeout`.
//!
//! Two levels are offered:
//! * [`tcp::Connection`]: one TCP connection's state machine (RFC 9293), usable alone;
//! * [`Endpoint`]: many connections looked up by hash of the 4-tuple, listeners with a SYN
//!   queue and an accept queue, a timer queue, and RSTs for segments nobody owns.
//!
//! Around an endpoint and a [`udp::UdpTable`]: [`iface::Interface`] runs them on an
//! Ethernet link by itself (ARP/ND/ICMP included), [`ip::IpHost`] at the IP level behind a
//! router's local delivery (uplane's `ip4-local`/`ip6-local`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod endpoint;
#[doc(hidden)]
pub mod fuzz;
pub mod iface;
pub mod ip;
pub mod isn;
pub mod net;
pub mod socket;
pub mod tcp;
mod timer;
pub mod udp;

pub use endpoint::{
    ConnectionHandle, Endpoint, EndpointConfig, EndpointStats, SegmentError, SynFilter, SynInfo,
    SynVerdict, Transmit,
};
pub use tcp::{
    CloseError, CloseReason, CongestionControl, Connection, ConnectionStats, Event, KeepAlive,
    RecvError, SendError, State, TcpConfig,
};

use core::net::SocketAddr;

/// A point in time: nanoseconds on the caller's monotonic clock. Only differences matter.
pub type Instant = u64;

/// Nanoseconds in one millisecond.
pub const MILLIS: u64 = 1_000_000;
/// Nanoseconds in one second.
pub const SECONDS: u64 = 1_000_000_000;

/// The 4-tuple that names a connection, seen from this host: `local` is our address and
/// port (the destination of segments we receive), `remote` the peer's.
///
/// Both addresses are of the same family. Later issues may widen the match key (VLAN tags,
/// MACs); the endpoint only needs `Hash + Eq` of it. An IPv4 tuple hashes as one 128-bit
/// word, an IPv6 one as three (addresses and ports; IPv6 flow labels and scope ids take no
/// part, which `Eq` allows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FourTuple {
    /// Our address and port.
    pub local: SocketAddr,
    /// The peer's address and port.
    pub remote: SocketAddr,
}

impl core::hash::Hash for FourTuple {
    #[inline]
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        let ports = u64::from(self.local.port()) << 16 | u64::from(self.remote.port());
        match (self.local, self.remote) {
            (SocketAddr::V4(l), SocketAddr::V4(r)) => {
                let ips = u64::from(u32::from(*l.ip())) << 32 | u64::from(u32::from(*r.ip()));
                state.write_u128(u128::from(ips) << 64 | u128::from(ports));
            }
            (l, r) => {
                let bits = |a: SocketAddr| match a {
                    SocketAddr::V4(a) => u128::from(u32::from(*a.ip())),
                    SocketAddr::V6(a) => u128::from(*a.ip()),
                };
                state.write_u128(bits(l));
                state.write_u128(bits(r));
                state.write_u64(ports);
            }
        }
    }
}

impl FourTuple {
    /// The tuple seen from the other side (local and remote swapped).
    pub fn reversed(self) -> FourTuple {
        FourTuple {
            local: self.remote,
            remote: self.local,
        }
    }
}
