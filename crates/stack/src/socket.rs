//! Non-blocking sockets with readiness events, in mio's style, over an [`Interface`].
//!
//! [`Stack`] owns an interface and names its sockets by [`SocketHandle`]. The application
//! registers interest per socket under a [`Token`] of its choice
//! ([`register`](Stack::register)), takes readiness with
//! [`poll_events`](Stack::poll_events), and on each event repeats the operation until it
//! returns [`SocketError::WouldBlock`]. Readiness is edge-triggered: an event says that
//! something changed since the last event for that socket, as with mio (epoll `EPOLLET`).
//!
//! Operations return a typed [`SocketError`]; `WouldBlock` is its own variant. Converting
//! to [`std::io::Error`] gives the `io::ErrorKind` a kernel socket would.
//!
//! # Costs
//! No operation scans the sockets: an endpoint event finds its socket by one hash lookup
//! of the connection handle, a UDP event by the UDP slot index, a handshake-completing ACK
//! its listener by one or two hash lookups; ready sockets wait in a FIFO with a flag that
//! keeps each in it once.
//!
//! # Call order
//! As [`Interface`]'s: [`handle_frame`](Stack::handle_frame) /
//! [`handle_timeout`](Stack::handle_timeout) and application operations in, then
//! [`poll_transmit`](Stack::poll_transmit) until `None`, [`poll_events`](Stack::poll_events)
//! and [`poll_timeout`](Stack::poll_timeout).

use std::collections::{HashMap, VecDeque};

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::endpoint::{ConnectError, ConnectionHandle, ListenError};
use crate::iface::{Arrival, Interface};
use crate::isn::TableBuildHasher;
use crate::tcp::{CloseReason, Event, RecvError, SendError};
use crate::udp::{UdpError, UdpEvent, UdpHandle, EPHEMERAL_FIRST};
use crate::Instant;

/// The application's name for a registered socket, handed back in its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token(pub usize);

/// Which readiness a registration asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interest(u8);

impl Interest {
    /// Data (or a connection to accept, or an error, or end of stream) can be read.
    pub const READABLE: Interest = Interest(1);
    /// Bytes or datagrams can be sent.
    pub const WRITABLE: Interest = Interest(2);

    /// Both.
    pub const fn add(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }

    /// True when `READABLE` is in.
    pub const fn is_readable(self) -> bool {
        self.0 & 1 != 0
    }

    /// True when `WRITABLE` is in.
    pub const fn is_writable(self) -> bool {
        self.0 & 2 != 0
    }
}

impl core::ops::BitOr for Interest {
    type Output = Interest;
    fn bitor(self, rhs: Interest) -> Interest {
        self.add(rhs)
    }
}

const R: u8 = 1;
const W: u8 = 2;
/// The connection ended (both halves).
const HUP: u8 = 4;

/// One readiness event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketEvent {
    /// The token the socket was registered with.
    pub token: Token,
    bits: u8,
}

impl SocketEvent {
    /// Readable (or a connection to accept, an error or end of stream to read).
    pub fn is_readable(&self) -> bool {
        self.bits & R != 0
    }
    /// Writable.
    pub fn is_writable(&self) -> bool {
        self.bits & W != 0
    }
    /// The connection is gone (closed, reset, timed out): operations return its error.
    pub fn is_closed(&self) -> bool {
        self.bits & HUP != 0
    }
}

/// Names one socket of a [`Stack`]; a stale handle misses (`BadHandle`) instead of
/// reaching a reused slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SocketHandle {
    index: u32,
    generation: u32,
}

impl SocketHandle {
    /// The slot index (dense, reused after close).
    pub fn index(self) -> usize {
        self.index as usize
    }
}

/// Why a socket operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SocketError {
    /// Not now: wait for a readiness event and try again.
    #[error("operation would block")]
    WouldBlock,
    /// The handle names no open socket.
    #[error("no such socket")]
    BadHandle,
    /// The operation does not apply to this kind of socket.
    #[error("wrong socket kind for this operation")]
    WrongKind,
    /// The address and port are taken.
    #[error("address in use")]
    AddrInUse,
    /// No address of the needed family, or address families differ.
    #[error("address not available")]
    AddrNotAvailable,
    /// The peer refused (RST to our SYN, ICMP port unreachable).
    #[error("connection refused")]
    ConnectionRefused,
    /// The peer reset the connection.
    #[error("connection reset")]
    ConnectionReset,
    /// We aborted the connection.
    #[error("connection aborted")]
    ConnectionAborted,
    /// Retransmissions went unanswered.
    #[error("connection timed out")]
    TimedOut,
    /// The write side is shut (after `shutdown_write`, or the connection ended).
    #[error("write side closed")]
    WriteClosed,
    /// A datagram too large for one packet.
    #[error("datagram too large")]
    TooLarge,
    /// ICMP destination unreachable.
    #[error("destination unreachable")]
    Unreachable,
}

impl From<SocketError> for std::io::Error {
    fn from(e: SocketError) -> Self {
        use std::io::ErrorKind as K;
        let kind = match e {
            SocketError::WouldBlock => K::WouldBlock,
            SocketError::BadHandle | SocketError::WrongKind => K::InvalidInput,
            SocketError::AddrInUse => K::AddrInUse,
            SocketError::AddrNotAvailable => K::AddrNotAvailable,
            SocketError::ConnectionRefused => K::ConnectionRefused,
            SocketError::ConnectionReset => K::ConnectionReset,
            SocketError::ConnectionAborted => K::ConnectionAborted,
            SocketError::TimedOut => K::TimedOut,
            SocketError::WriteClosed => K::BrokenPipe,
            SocketError::TooLarge => K::InvalidInput,
            SocketError::Unreachable => K::HostUnreachable,
        };
        std::io::Error::new(kind, e)
    }
}

/// A stream read's result as the socket API gives it: bytes read, `Ok(0)` at end of stream
/// (also when the connection ended by an orderly close), or the error. `ended` is why the
/// connection ended, when the socket layer already knew.
fn recv_result(
    r: Result<Option<usize>, RecvError>,
    ended: Option<CloseReason>,
) -> Result<usize, SocketError> {
    match r {
        Ok(Some(n)) => Ok(n),
        Ok(None) => Ok(0),
        Err(RecvError::WouldBlock) => Err(SocketError::WouldBlock),
        Err(RecvError::ConnectionLost(r)) => match ended.unwrap_or(r) {
            CloseReason::Closed => Ok(0),
            r => Err(from_close(r)),
        },
        #[allow(unreachable_patterns)]
        Err(_) => Err(SocketError::ConnectionReset),
    }
}

fn from_close(r: CloseReason) -> SocketError {
    match r {
        CloseReason::Closed => SocketError::WriteClosed,
        CloseReason::Reset => SocketError::ConnectionReset,
        CloseReason::Refused => SocketError::ConnectionRefused,
        CloseReason::TimedOut => SocketError::TimedOut,
        CloseReason::Aborted => SocketError::ConnectionAborted,
        #[allow(unreachable_patterns)]
        _ => SocketError::ConnectionReset,
    }
}

fn from_udp(e: UdpError) -> SocketError {
    match e {
        UdpError::WouldBlock => SocketError::WouldBlock,
        UdpError::AddrInUse => SocketError::AddrInUse,
        UdpError::BadHandle => SocketError::BadHandle,
        UdpError::BadAddress => SocketError::AddrNotAvailable,
        UdpError::TooLarge => SocketError::TooLarge,
        UdpError::PortUnreachable => SocketError::ConnectionRefused,
        UdpError::Unreachable => SocketError::Unreachable,
    }
}

#[derive(Debug)]
enum Kind {
    Listener {
        /// The endpoint's listen key.
        addr: SocketAddr,
        backlog: usize,
        /// Established connections taken from the endpoint, not yet accepted.
        queue: VecDeque<ConnectionHandle>,
    },
    Stream {
        conn: ConnectionHandle,
        local: SocketAddr,
        peer: SocketAddr,
        /// Set when the endpoint reported the connection closed.
        ended: Option<CloseReason>,
    },
    Udp(UdpHandle),
}

#[derive(Debug)]
struct Socket {
    kind: Kind,
    token: Option<Token>,
    interest: u8,
    /// Readiness not yet reported.
    pending: u8,
    queued: bool,
}

#[derive(Debug)]
struct Slot {
    generation: u32,
    socket: Option<Socket>,
}

/// Sockets with readiness over one [`Interface`]. See the module documentation.
#[derive(Debug)]
pub struct Stack {
    iface: Interface,
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Connection slot index → (connection generation, socket index): the endpoint's
    /// slots are dense, so an event finds its socket without hashing.
    by_conn: Vec<Option<(u32, u32)>>,
    /// UDP slot index → socket index.
    by_udp: Vec<u32>,
    listeners: HashMap<SocketAddr, u32, TableBuildHasher>,
    ready: VecDeque<u32>,
    next_port: u16,
}

fn wildcard(a: SocketAddr) -> SocketAddr {
    let ip = match a.ip() {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    SocketAddr::new(ip, a.port())
}

impl Stack {
    /// Sockets over `iface`.
    pub fn new(iface: Interface) -> Self {
        let h = TableBuildHasher::new(iface.config().endpoint.secret);
        Stack {
            iface,
            slots: Vec::new(),
            free: Vec::new(),
            by_conn: Vec::new(),
            by_udp: Vec::new(),
            listeners: HashMap::with_hasher(h),
            ready: VecDeque::new(),
            next_port: EPHEMERAL_FIRST,
        }
    }

    /// The interface (counters, configuration).
    pub fn iface(&self) -> &Interface {
        &self.iface
    }

    /// The interface, mutably (direct access to the endpoint and UDP table).
    pub fn iface_mut(&mut self) -> &mut Interface {
        &mut self.iface
    }

    /// Sockets open.
    pub fn socket_count(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    fn insert(&mut self, kind: Kind) -> SocketHandle {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    socket: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.generation = slot.generation.wrapping_add(1);
        slot.socket = Some(Socket {
            kind,
            token: None,
            interest: 0,
            pending: 0,
            queued: false,
        });
        SocketHandle {
            index,
            generation: slot.generation,
        }
    }

    fn get(&self, h: SocketHandle) -> Result<&Socket, SocketError> {
        self.slots
            .get(h.index as usize)
            .filter(|s| s.generation == h.generation)
            .and_then(|s| s.socket.as_ref())
            .ok_or(SocketError::BadHandle)
    }

    fn get_mut(&mut self, h: SocketHandle) -> Result<&mut Socket, SocketError> {
        self.slots
            .get_mut(h.index as usize)
            .filter(|s| s.generation == h.generation)
            .and_then(|s| s.socket.as_mut())
            .ok_or(SocketError::BadHandle)
    }

    /// The socket of connection `conn`, if any.
    fn socket_of(&self, conn: ConnectionHandle) -> Option<u32> {
        match self.by_conn.get(conn.index() as usize) {
            Some(&Some((generation, socket))) if generation == conn.generation() => Some(socket),
            _ => None,
        }
    }

    /// Records that socket `socket` holds connection `conn`.
    fn bind_conn(&mut self, conn: ConnectionHandle, socket: u32) {
        let i = conn.index() as usize;
        if i >= self.by_conn.len() {
            self.by_conn.resize(i + 1, None);
        }
        self.by_conn[i] = Some((conn.generation(), socket));
    }

    /// Marks readiness `bits` on socket `index` and queues it when registered for them.
    fn mark(&mut self, index: u32, bits: u8) {
        let Some(s) = self.slots[index as usize].socket.as_mut() else {
            return;
        };
        s.pending |= bits;
        // Closure wakes whatever is registered.
        let wanted = s.interest | if s.interest != 0 { HUP } else { 0 };
        if s.token.is_some() && s.pending & wanted != 0 && !s.queued {
            s.queued = true;
            self.ready.push_back(index);
        }
    }

    // ----- registration ---------------------------------------------------------------

    /// Registers (or re-registers) `h` under `token` for `interest`. Readiness that is
    /// already pending is reported by the next [`poll_events`](Self::poll_events).
    pub fn register(
        &mut self,
        h: SocketHandle,
        token: Token,
        interest: Interest,
    ) -> Result<(), SocketError> {
        let s = self.get_mut(h)?;
        s.token = Some(token);
        s.interest = interest.0;
        self.mark(h.index, 0);
        Ok(())
    }

    /// Stops events for `h`.
    pub fn deregister(&mut self, h: SocketHandle) -> Result<(), SocketError> {
        let s = self.get_mut(h)?;
        s.token = None;
        s.interest = 0;
        Ok(())
    }

    /// Appends up to `max` readiness events to `events` (after draining what the
    /// endpoint and UDP table reported); returns how many.
    pub fn poll_events(&mut self, events: &mut Vec<SocketEvent>, max: usize) -> usize {
        self.pump();
        let mut n = 0;
        while n < max {
            let Some(index) = self.ready.pop_front() else {
                break;
            };
            let Some(s) = self.slots[index as usize].socket.as_mut() else {
                continue;
            };
            s.queued = false;
            let (Some(token), wanted) = (s.token, s.interest | HUP) else {
                continue;
            };
            let bits = s.pending & wanted;
            s.pending &= !bits;
            if bits != 0 {
                events.push(SocketEvent { token, bits });
                n += 1;
            }
        }
        n
    }

    /// Moves endpoint and UDP events onto the sockets.
    fn pump(&mut self) {
        while let Some((conn, ev)) = self.iface.endpoint_mut().poll_event() {
            let Some(index) = self.socket_of(conn) else {
                continue;
            };
            let bits = match ev {
                Event::Connected | Event::Writable => W,
                Event::Readable => R,
                Event::Closed(reason) => {
                    if let Some(Socket {
                        kind: Kind::Stream { ended, .. },
                        ..
                    }) = self.slots[index as usize].socket.as_mut()
                    {
                        *ended = Some(reason);
                    }
                    R | W | HUP
                }
            };
            self.mark(index, bits);
        }
        while let Some((uh, ev)) = self.iface.udp_mut().poll_event() {
            let Some(&index) = self.by_udp.get(uh.index()) else {
                continue;
            };
            self.mark(
                index,
                match ev {
                    UdpEvent::Readable => R,
                    UdpEvent::Writable => W,
                },
            );
        }
    }

    // ----- the link -------------------------------------------------------------------

    /// A received Ethernet frame ([`Interface::handle_frame`]).
    pub fn handle_frame(&mut self, now: Instant, frame: &[u8]) {
        if let Arrival::TcpAck { local } = self.iface.handle_frame(now, frame) {
            self.take_accepted(local);
        }
    }

    /// Moves connections the endpoint established for the listener of `local` into its
    /// queue (up to its backlog).
    fn take_accepted(&mut self, local: SocketAddr) {
        let (key, index) = match self.listeners.get(&local) {
            Some(&i) => (local, i),
            None => match self.listeners.get(&wildcard(local)) {
                Some(&i) => (wildcard(local), i),
                None => return,
            },
        };
        let mut got = false;
        loop {
            let Some(Socket {
                kind: Kind::Listener { queue, backlog, .. },
                ..
            }) = self.slots[index as usize].socket.as_mut()
            else {
                return;
            };
            if queue.len() >= *backlog {
                break;
            }
            let Some(c) = self.iface.endpoint_mut().accept(key) else {
                break;
            };
            queue.push_back(c);
            got = true;
        }
        if got {
            self.mark(index, R);
        }
    }

    /// The next frame to send ([`Interface::poll_transmit`]).
    pub fn poll_transmit(&mut self, now: Instant, out: &mut [u8]) -> Option<usize> {
        self.iface.poll_transmit(now, out)
    }

    /// The next deadline ([`Interface::poll_timeout`]).
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        self.iface.poll_timeout()
    }

    /// Runs timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.iface.handle_timeout(now);
    }

    // ----- TCP ------------------------------------------------------------------------

    /// Listens on `local` (an unspecified IP: every address of the family).
    pub fn tcp_listen(
        &mut self,
        local: SocketAddr,
        backlog: usize,
    ) -> Result<SocketHandle, SocketError> {
        if self.listeners.contains_key(&local) {
            return Err(SocketError::AddrInUse);
        }
        self.iface
            .endpoint_mut()
            .listen(local, backlog)
            .map_err(|e| match e {
                ListenError::AddrInUse => SocketError::AddrInUse,
            })?;
        let h = self.insert(Kind::Listener {
            addr: local,
            backlog: backlog.max(1),
            queue: VecDeque::new(),
        });
        self.listeners.insert(local, h.index);
        Ok(h)
    }

    /// The next established connection of a listener: `(stream, peer address)`.
    pub fn tcp_accept(
        &mut self,
        listener: SocketHandle,
    ) -> Result<(SocketHandle, SocketAddr), SocketError> {
        loop {
            let s = self.get_mut(listener)?;
            let Kind::Listener { queue, addr, .. } = &mut s.kind else {
                return Err(SocketError::WrongKind);
            };
            let key = *addr;
            let Some(conn) = queue.pop_front() else {
                // Anything the endpoint holds beyond our backlog.
                let c = self
                    .iface
                    .endpoint_mut()
                    .accept(key)
                    .ok_or(SocketError::WouldBlock)?;
                let Kind::Listener { queue, .. } = &mut self.get_mut(listener)?.kind else {
                    return Err(SocketError::WrongKind);
                };
                queue.push_back(c);
                continue;
            };
            let Some(tuple) = self.iface.endpoint().connection(conn).map(|c| c.tuple()) else {
                continue; // closed before it was accepted
            };
            let h = self.insert(Kind::Stream {
                conn,
                local: tuple.local,
                peer: tuple.remote,
                ended: None,
            });
            self.bind_conn(conn, h.index);
            // Data may have arrived with the handshake: let the first event say so.
            self.get_mut(h)?.pending = R | W;
            return Ok((h, tuple.remote));
        }
    }

    /// Opens a connection to `remote` from our address of its family and a free port.
    /// The stream reports writable once connected (or closed with `ConnectionRefused` /
    /// `TimedOut`).
    pub fn tcp_connect(
        &mut self,
        now: Instant,
        remote: SocketAddr,
    ) -> Result<SocketHandle, SocketError> {
        let ip = self
            .iface
            .source_for(remote.ip())
            .ok_or(SocketError::AddrNotAvailable)?;
        let span = u32::from(u16::MAX - EPHEMERAL_FIRST) + 1;
        for _ in 0..span {
            let port = self.next_port;
            self.next_port = if port == u16::MAX {
                EPHEMERAL_FIRST
            } else {
                port + 1
            };
            let local = SocketAddr::new(ip, port);
            if self.listeners.contains_key(&local) || self.listeners.contains_key(&wildcard(local))
            {
                continue;
            }
            match self.iface.endpoint_mut().connect(now, local, remote) {
                Ok(conn) => {
                    let h = self.insert(Kind::Stream {
                        conn,
                        local,
                        peer: remote,
                        ended: None,
                    });
                    self.bind_conn(conn, h.index);
                    return Ok(h);
                }
                Err(ConnectError::TupleInUse) => continue,
                Err(ConnectError::FamilyMismatch) => return Err(SocketError::AddrNotAvailable),
            }
        }
        Err(SocketError::AddrInUse)
    }

    fn stream(
        &self,
        h: SocketHandle,
    ) -> Result<(ConnectionHandle, Option<CloseReason>), SocketError> {
        match self.get(h)?.kind {
            Kind::Stream { conn, ended, .. } => Ok((conn, ended)),
            _ => Err(SocketError::WrongKind),
        }
    }

    /// Queues bytes to send; returns how many were taken.
    pub fn tcp_send(&mut self, h: SocketHandle, data: &[u8]) -> Result<usize, SocketError> {
        let (conn, ended) = self.stream(h)?;
        match self.iface.endpoint_mut().send(conn, data) {
            Ok(n) => Ok(n),
            Err(SendError::WouldBlock) => Err(SocketError::WouldBlock),
            Err(SendError::Closed) => Err(SocketError::WriteClosed),
            Err(SendError::ConnectionLost(r)) => Err(from_close(ended.unwrap_or(r))),
            #[allow(unreachable_patterns)]
            Err(_) => Err(SocketError::ConnectionReset),
        }
    }

    /// Reads received bytes; `Ok(0)` is end of stream (the peer closed, all read).
    pub fn tcp_recv(&mut self, h: SocketHandle, buf: &mut [u8]) -> Result<usize, SocketError> {
        let (conn, ended) = self.stream(h)?;
        if buf.is_empty() {
            return Ok(0);
        }
        recv_result(self.iface.endpoint_mut().recv(conn, buf), ended)
    }

    /// [`tcp_recv`](Self::tcp_recv) in place, without a copy (like smoltcp's
    /// `recv`/`recv_with`): `f` is shown the first contiguous run of received bytes, in
    /// the socket's receive buffer, and returns how many it consumed; the result is that
    /// count. `f` is called only when bytes wait: `Ok(0)` without a call is end of stream.
    /// The rest (and whatever follows the buffer's wrap) waits for the next call.
    pub fn tcp_recv_with(
        &mut self,
        h: SocketHandle,
        f: impl FnOnce(&[u8]) -> usize,
    ) -> Result<usize, SocketError> {
        let (conn, ended) = self.stream(h)?;
        recv_result(self.iface.endpoint_mut().recv_with(conn, f), ended)
    }

    /// Closes the write side (FIN after the queued bytes); reading goes on.
    pub fn tcp_shutdown_write(&mut self, now: Instant, h: SocketHandle) -> Result<(), SocketError> {
        let (conn, _) = self.stream(h)?;
        // Already closed for writing is not an error here (shutdown is idempotent).
        let _ = self.iface.endpoint_mut().close(now, conn);
        Ok(())
    }

    /// The peer's address of a stream.
    pub fn peer_addr(&self, h: SocketHandle) -> Result<SocketAddr, SocketError> {
        match self.get(h)?.kind {
            Kind::Stream { peer, .. } => Ok(peer),
            _ => Err(SocketError::WrongKind),
        }
    }

    /// The local address of any socket.
    pub fn local_addr(&self, h: SocketHandle) -> Result<SocketAddr, SocketError> {
        match self.get(h)?.kind {
            Kind::Stream { local, .. } => Ok(local),
            Kind::Listener { addr, .. } => Ok(addr),
            Kind::Udp(u) => self.iface.udp().local_addr(u).map_err(from_udp),
        }
    }

    /// True when the stream's connection is established (or was: data may remain).
    pub fn tcp_is_connected(&self, h: SocketHandle) -> Result<bool, SocketError> {
        let (conn, ended) = self.stream(h)?;
        if let Some(r) = ended.filter(|r| *r != CloseReason::Closed) {
            return Err(from_close(r));
        }
        Ok(self
            .iface
            .endpoint()
            .connection(conn)
            .is_none_or(|c| c.state().is_synchronized()))
    }

    /// Bytes queued on a stream and not yet acknowledged by the peer.
    pub fn tcp_send_queue(&self, h: SocketHandle) -> Result<usize, SocketError> {
        let (conn, _) = self.stream(h)?;
        Ok(self
            .iface
            .endpoint()
            .connection(conn)
            .map_or(0, |c| c.send_queue_len()))
    }

    /// Sends RST and forgets the stream.
    pub fn tcp_abort(&mut self, now: Instant, h: SocketHandle) -> Result<(), SocketError> {
        let (conn, _) = self.stream(h)?;
        self.iface.endpoint_mut().abort(now, conn);
        self.forget(h);
        Ok(())
    }

    /// Closes a socket. A stream sends FIN after its queued bytes and finishes the close
    /// in the background (the handle is gone at once); a listener's pending connections
    /// are reset; a UDP socket drops its queues.
    pub fn close(&mut self, now: Instant, h: SocketHandle) -> Result<(), SocketError> {
        match &mut self.get_mut(h)?.kind {
            Kind::Stream { conn, .. } => {
                let conn = *conn;
                let _ = self.iface.endpoint_mut().close(now, conn);
            }
            Kind::Listener { queue, addr, .. } => {
                let pending: Vec<_> = queue.drain(..).collect();
                let addr = *addr;
                for c in pending {
                    self.iface.endpoint_mut().abort(now, c);
                }
                self.listeners.remove(&addr);
                // The endpoint keeps the listen entry (it has no unlisten yet); SYNs to
                // it complete handshakes that are never accepted, bounded by the backlog.
            }
            Kind::Udp(u) => {
                let u = *u;
                let _ = self.iface.udp_mut().close(u);
            }
        }
        self.forget(h);
        Ok(())
    }

    fn forget(&mut self, h: SocketHandle) {
        let slot = &mut self.slots[h.index as usize];
        if let Some(s) = slot.socket.take() {
            if let Kind::Stream { conn, .. } = s.kind {
                if self.socket_of(conn) == Some(h.index) {
                    self.by_conn[conn.index() as usize] = None;
                }
            }
            self.free.push(h.index);
        }
    }

    // ----- UDP ------------------------------------------------------------------------

    /// Opens a UDP socket on `local` (port 0: an ephemeral port).
    pub fn udp_bind(&mut self, local: SocketAddr) -> Result<SocketHandle, SocketError> {
        let u = self.iface.udp_mut().bind(local).map_err(from_udp)?;
        let h = self.insert(Kind::Udp(u));
        if self.by_udp.len() <= u.index() {
            self.by_udp.resize(u.index() + 1, u32::MAX);
        }
        self.by_udp[u.index()] = h.index;
        // A fresh socket can send.
        self.get_mut(h)?.pending = W;
        Ok(h)
    }

    fn udp(&self, h: SocketHandle) -> Result<UdpHandle, SocketError> {
        match self.get(h)?.kind {
            Kind::Udp(u) => Ok(u),
            _ => Err(SocketError::WrongKind),
        }
    }

    /// Queues one datagram for `remote`.
    pub fn udp_send_to(
        &mut self,
        h: SocketHandle,
        data: &[u8],
        remote: SocketAddr,
    ) -> Result<usize, SocketError> {
        let u = self.udp(h)?;
        let max = self.iface.max_udp_payload(remote.ip());
        self.iface
            .udp_mut()
            .send_to(u, remote, data, max)
            .map_err(from_udp)
    }

    /// Takes one datagram: `(bytes, sender)`; or the error an ICMP message reported.
    pub fn udp_recv_from(
        &mut self,
        h: SocketHandle,
        buf: &mut [u8],
    ) -> Result<(usize, SocketAddr), SocketError> {
        let u = self.udp(h)?;
        self.iface.udp_mut().recv_from(u, buf).map_err(from_udp)
    }
}
