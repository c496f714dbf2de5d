//! An endpoint: many TCP connections, listeners, timers, and RSTs for strays.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use wire::tcp::{TcpFlags, TcpRepr, TcpSeqNumber};

use crate::isn::{IsnGenerator, SipBuildHasher};
use crate::tcp::{CloseError, Connection, Event, RecvError, SendError, State, TcpConfig};
use crate::timer::TimerQueue;
use crate::{FourTuple, Instant};

/// Endpoint settings.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// Shared by every connection.
    pub tcp: Arc<TcpConfig>,
    /// Key for ISNs, timestamp offsets and the table hash. Pick it at random in
    /// production; fix it in tests for replayable runs.
    pub secret: [u8; 16],
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            tcp: Arc::new(TcpConfig::default()),
            secret: [0x5a; 16],
        }
    }
}

/// Names one connection of an [`Endpoint`]. A handle outlives its connection harmlessly:
/// the generation makes a stale handle miss instead of hitting a reused slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnectionHandle {
    index: u32,
    generation: u32,
}

/// One segment for the caller to put on the wire: addresses, header, and the payload the
/// `poll_transmit` call wrote into its buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    /// `local` is the source, `remote` the destination.
    pub tuple: FourTuple,
    /// The header (`payload_len` bytes of payload are in the caller's buffer).
    pub repr: TcpRepr,
}

/// Endpoint-wide counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EndpointStats {
    /// SYNs dropped because the SYN queue or accept queue was full.
    pub syn_dropped: u64,
    /// Segments for no connection or listener, answered by RST.
    pub rst_sent: u64,
    /// Connections created (both directions).
    pub connections_opened: u64,
    /// Connections released.
    pub connections_closed: u64,
}

/// Why [`Endpoint::listen`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ListenError {
    /// Something already listens on this address and port.
    #[error("address in use")]
    AddrInUse,
}

/// Why [`Endpoint::connect`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// A connection with this 4-tuple exists.
    #[error("4-tuple in use")]
    TupleInUse,
    /// Local and remote addresses are of different families.
    #[error("address families differ")]
    FamilyMismatch,
}

#[derive(Debug)]
struct Listener {
    backlog: usize,
    /// Half-open connections (SYN-RECEIVED) that came from this listener.
    syn_queue: usize,
    /// Established connections waiting for [`Endpoint::accept`].
    accept_queue: VecDeque<ConnectionHandle>,
}

#[derive(Debug)]
struct Slot {
    generation: u32,
    conn: Option<Connection>,
    /// The listener whose SYN queue this connection counts against, until established.
    listener: Option<SocketAddr>,
    /// Visible to the application (connected by it, or accepted).
    owned: bool,
    /// Deadline currently in the timer queue for this slot.
    scheduled: Option<Instant>,
    /// In the `dirty` queue (may have segments to send).
    dirty: bool,
}

/// Many TCP connections and listeners behind one sans-IO interface.
///
/// # Call order
/// * inputs: [`handle_segment`](Self::handle_segment) for each TCP segment addressed to
///   us; [`handle_timeout`](Self::handle_timeout) once [`poll_timeout`](Self::poll_timeout)
///   has passed; application calls ([`listen`](Self::listen), [`connect`](Self::connect),
///   [`accept`](Self::accept), [`send`](Self::send), [`recv`](Self::recv),
///   [`close`](Self::close), [`abort`](Self::abort));
/// * outputs, after any input: [`poll_transmit`](Self::poll_transmit) until `None`,
///   [`poll_event`](Self::poll_event) until `None`, then [`poll_timeout`](Self::poll_timeout).
///
/// # Costs
/// Segment dispatch is one hash lookup of the 4-tuple (SipHash keyed with the endpoint
/// secret), then one of the listen table for SYNs that match no connection; there is no
/// scan. Timers: O(log n) per (re)schedule and per expiry (see `timer.rs`). Output: a
/// queue of connections that may have something to send, O(1) per segment.
#[derive(Debug)]
pub struct Endpoint {
    config: EndpointConfig,
    isn: IsnGenerator,
    slots: Vec<Slot>,
    free: Vec<u32>,
    table: HashMap<FourTuple, u32, SipBuildHasher>,
    listeners: HashMap<SocketAddr, Listener, SipBuildHasher>,
    timers: TimerQueue,
    dirty: VecDeque<u32>,
    events: VecDeque<(ConnectionHandle, Event)>,
    rst_queue: VecDeque<Transmit>,
    stats: EndpointStats,
}

impl Endpoint {
    /// An endpoint with no connections.
    pub fn new(config: EndpointConfig) -> Self {
        let hasher = SipBuildHasher::new(config.secret);
        Endpoint {
            isn: IsnGenerator::new(config.secret),
            config,
            slots: Vec::new(),
            free: Vec::new(),
            table: HashMap::with_hasher(hasher),
            listeners: HashMap::with_hasher(hasher),
            timers: TimerQueue::default(),
            dirty: VecDeque::new(),
            events: VecDeque::new(),
            rst_queue: VecDeque::new(),
            stats: EndpointStats::default(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> EndpointStats {
        self.stats
    }

    /// Live connections (any state but released).
    pub fn connection_count(&self) -> usize {
        self.table.len()
    }

    /// Entries in the timer queue (live and stale).
    pub fn timer_entries(&self) -> usize {
        self.timers.len()
    }

    /// Accepts SYNs for `local` (an unspecified IP listens on every address of its
    /// family). `backlog` bounds both the SYN queue and the accept queue.
    pub fn listen(&mut self, local: SocketAddr, backlog: usize) -> Result<(), ListenError> {
        if self.listeners.contains_key(&local) {
            return Err(ListenError::AddrInUse);
        }
        self.listeners.insert(
            local,
            Listener {
                backlog: backlog.max(1),
                syn_queue: 0,
                accept_queue: VecDeque::new(),
            },
        );
        Ok(())
    }

    /// The next established connection of the listener on `local`, if any.
    pub fn accept(&mut self, local: SocketAddr) -> Option<ConnectionHandle> {
        loop {
            let h = self.listeners.get_mut(&local)?.accept_queue.pop_front()?;
            if let Some(slot) = self.slot_mut(h) {
                slot.owned = true;
                return Some(h);
            }
        }
    }

    /// Opens a connection (its SYN comes out of [`poll_transmit`](Self::poll_transmit)).
    pub fn connect(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> Result<ConnectionHandle, ConnectError> {
        if local.is_ipv4() != remote.is_ipv4() {
            return Err(ConnectError::FamilyMismatch);
        }
        let tuple = FourTuple { local, remote };
        if self.table.contains_key(&tuple) {
            return Err(ConnectError::TupleInUse);
        }
        let conn = Connection::connect(
            self.config.tcp.clone(),
            now,
            tuple,
            self.isn.isn(now, &tuple),
            self.isn.ts_offset(&tuple),
        );
        let h = self.insert(tuple, conn, None, true);
        self.after(h.index);
        Ok(h)
    }

    /// The connection behind `h`, while it exists.
    pub fn connection(&self, h: ConnectionHandle) -> Option<&Connection> {
        self.slots
            .get(h.index as usize)
            .filter(|s| s.generation == h.generation)
            .and_then(|s| s.conn.as_ref())
    }

    /// [`Connection::send`] on `h`. A stale handle reads as a reset connection.
    pub fn send(&mut self, h: ConnectionHandle, data: &[u8]) -> Result<usize, SendError> {
        let r = match self.conn_mut(h) {
            Some(c) => c.send(data),
            None => return Err(SendError::ConnectionLost(crate::CloseReason::Closed)),
        };
        self.after(h.index);
        r
    }

    /// [`Connection::recv`] on `h`.
    pub fn recv(
        &mut self,
        h: ConnectionHandle,
        buf: &mut [u8],
    ) -> Result<Option<usize>, RecvError> {
        let r = match self.conn_mut(h) {
            Some(c) => c.recv(buf),
            None => return Err(RecvError::ConnectionLost(crate::CloseReason::Closed)),
        };
        self.after(h.index);
        r
    }

    /// [`Connection::close`] on `h`.
    pub fn close(&mut self, now: Instant, h: ConnectionHandle) -> Result<(), CloseError> {
        let r = match self.conn_mut(h) {
            Some(c) => c.close(now),
            None => return Err(CloseError::AlreadyClosed),
        };
        self.after(h.index);
        r
    }

    /// [`Connection::abort`] on `h`.
    pub fn abort(&mut self, now: Instant, h: ConnectionHandle) {
        if let Some(c) = self.conn_mut(h) {
            c.abort(now);
            self.after(h.index);
        }
    }

    /// An ICMP error said the path of `tuple` carries at most `mss` bytes of TCP payload
    /// ([`Connection::handle_path_mtu`]); one hash lookup. Returns true when a connection's
    /// MSS went down.
    pub fn handle_path_mtu(&mut self, tuple: FourTuple, mss: u16) -> bool {
        let Some(&index) = self.table.get(&tuple) else {
            return false;
        };
        let changed = self.slots[index as usize]
            .conn
            .as_mut()
            .is_some_and(|c| c.handle_path_mtu(mss));
        self.after(index);
        changed
    }

    /// Processes one segment: `tuple.local` is its destination, `tuple.remote` its source.
    /// The checksum must already be verified.
    pub fn handle_segment(
        &mut self,
        now: Instant,
        tuple: FourTuple,
        seg: &TcpRepr,
        payload: &[u8],
    ) {
        if let Some(&index) = self.table.get(&tuple) {
            if let Some(c) = self.slots[index as usize].conn.as_mut() {
                c.handle_segment(now, seg, payload);
            }
            self.after(index);
            return;
        }
        let f = seg.flags;
        if f.contains(TcpFlags::RST) {
            return;
        }
        if f.contains(TcpFlags::SYN) && !f.contains(TcpFlags::ACK) && !f.contains(TcpFlags::FIN) {
            if let Some(key) = self.listener_for(tuple.local) {
                self.on_syn(now, key, tuple, seg);
                return;
            }
        }
        // Nobody owns it: RST (RFC 9293 §3.10.7.1).
        self.stats.rst_sent += 1;
        let mut r = TcpRepr {
            src_port: tuple.local.port(),
            dst_port: tuple.remote.port(),
            ..TcpRepr::default()
        };
        if f.contains(TcpFlags::ACK) {
            r.seq_number = seg.ack_number;
            r.flags = TcpFlags::RST;
        } else {
            let len = payload.len()
                + usize::from(f.contains(TcpFlags::SYN))
                + usize::from(f.contains(TcpFlags::FIN));
            r.seq_number = TcpSeqNumber(0);
            r.ack_number = seg.seq_number + len;
            r.flags = TcpFlags::RST | TcpFlags::ACK;
        }
        self.rst_queue.push_back(Transmit { tuple, repr: r });
    }

    fn listener_for(&self, local: SocketAddr) -> Option<SocketAddr> {
        if self.listeners.contains_key(&local) {
            return Some(local);
        }
        let any = match local.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        let wild = SocketAddr::new(any, local.port());
        self.listeners.contains_key(&wild).then_some(wild)
    }

    /// A SYN for a listener: a new SYN-RECEIVED connection if both queues have room.
    /// (The hook for SYN filters and SYN cookies goes here.)
    fn on_syn(&mut self, now: Instant, key: SocketAddr, tuple: FourTuple, syn: &TcpRepr) {
        let Some(l) = self.listeners.get_mut(&key) else {
            return;
        };
        if l.syn_queue >= l.backlog || l.accept_queue.len() >= l.backlog {
            self.stats.syn_dropped += 1;
            return;
        }
        l.syn_queue += 1;
        let conn = Connection::accept(
            self.config.tcp.clone(),
            now,
            tuple,
            syn,
            self.isn.isn(now, &tuple),
            self.isn.ts_offset(&tuple),
        );
        let h = self.insert(tuple, conn, Some(key), false);
        self.after(h.index);
    }

    fn insert(
        &mut self,
        tuple: FourTuple,
        conn: Connection,
        listener: Option<SocketAddr>,
        owned: bool,
    ) -> ConnectionHandle {
        self.stats.connections_opened += 1;
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    conn: None,
                    listener: None,
                    owned: false,
                    scheduled: None,
                    dirty: false,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let s = &mut self.slots[index as usize];
        s.generation = s.generation.wrapping_add(1);
        s.conn = Some(conn);
        s.listener = listener;
        s.owned = owned;
        s.scheduled = None;
        self.table.insert(tuple, index);
        ConnectionHandle {
            index,
            generation: s.generation,
        }
    }

    fn slot_mut(&mut self, h: ConnectionHandle) -> Option<&mut Slot> {
        self.slots
            .get_mut(h.index as usize)
            .filter(|s| s.generation == h.generation && s.conn.is_some())
    }

    fn conn_mut(&mut self, h: ConnectionHandle) -> Option<&mut Connection> {
        self.slot_mut(h).and_then(|s| s.conn.as_mut())
    }

    /// After any input to slot `index`: route its events, mark it dirty, reschedule its
    /// timer, and release it once closed.
    fn after(&mut self, index: u32) {
        let slot = &mut self.slots[index as usize];
        let Some(conn) = slot.conn.as_mut() else {
            return;
        };
        let h = ConnectionHandle {
            index,
            generation: slot.generation,
        };
        let mut closed = false;
        while let Some(ev) = conn.poll_event() {
            match ev {
                Event::Connected => {
                    if let Some(key) = slot.listener.take() {
                        if let Some(l) = self.listeners.get_mut(&key) {
                            l.syn_queue -= 1;
                            l.accept_queue.push_back(h);
                        }
                        continue;
                    }
                }
                Event::Closed(_) => closed = true,
                _ => {}
            }
            if slot.owned {
                self.events.push_back((h, ev));
            }
        }
        if !slot.dirty {
            slot.dirty = true;
            self.dirty.push_back(index);
        }
        let t = conn.poll_timeout();
        if t != slot.scheduled {
            slot.scheduled = t;
            if let Some(t) = t {
                self.timers.push(t, index, slot.generation);
            }
        }
        // Release once closed and nothing is left to send (a final RST may be pending).
        if closed || conn.state() == State::Closed {
            self.release_if_done(index);
        }
    }

    fn release_if_done(&mut self, index: u32) {
        let slot = &mut self.slots[index as usize];
        let Some(conn) = slot.conn.as_mut() else {
            return;
        };
        if conn.state() != State::Closed {
            return;
        }
        // Flush what it still has to say (a RST after abort) into the RST queue.
        let mut scratch = Vec::new();
        let tuple = conn.tuple();
        while let Some(repr) = conn.poll_transmit(0, &mut scratch) {
            self.rst_queue.push_back(Transmit { tuple, repr });
        }
        if let Some(key) = slot.listener.take() {
            if let Some(l) = self.listeners.get_mut(&key) {
                l.syn_queue -= 1;
            }
        }
        slot.conn = None;
        slot.scheduled = None;
        self.table.remove(&tuple);
        self.free.push(index);
        self.stats.connections_closed += 1;
    }

    /// The next segment to send, its payload written to `buf` (cleared first).
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Transmit> {
        if let Some(t) = self.rst_queue.pop_front() {
            buf.clear();
            return Some(t);
        }
        while let Some(&index) = self.dirty.front() {
            let slot = &mut self.slots[index as usize];
            let out = slot
                .conn
                .as_mut()
                .and_then(|c| c.poll_transmit(now, buf).map(|r| (c.tuple(), r)));
            match out {
                Some((tuple, repr)) => {
                    // Round robin: the next call serves the next connection.
                    self.dirty.pop_front();
                    self.dirty.push_back(index);
                    self.after_transmit(index);
                    return Some(Transmit { tuple, repr });
                }
                None => {
                    self.dirty.pop_front();
                    slot.dirty = false;
                    self.after_transmit(index);
                }
            }
        }
        None
    }

    fn after_transmit(&mut self, index: u32) {
        let slot = &mut self.slots[index as usize];
        if let Some(conn) = slot.conn.as_ref() {
            let t = conn.poll_timeout();
            if t != slot.scheduled {
                slot.scheduled = t;
                if let Some(t) = t {
                    self.timers.push(t, index, slot.generation);
                }
            }
            if conn.state() == State::Closed {
                // Stays queued until a later poll finds nothing; then it is released.
                let dirty = slot.dirty;
                if !dirty {
                    self.release_if_done(index);
                }
            }
        }
    }

    /// The earliest instant at which [`handle_timeout`](Self::handle_timeout) must run.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        let slots = &self.slots;
        self.timers
            .peek_valid(|at, i, g| {
                let s = &slots[i as usize];
                s.generation == g && s.conn.is_some() && s.scheduled == Some(at)
            })
            .map(|(at, _, _)| at)
    }

    /// Runs the timers of every connection due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(at) = self.poll_timeout() {
            if at > now {
                break;
            }
            let Some((_, index, _)) = self.timers.peek_valid(|_, _, _| true) else {
                break;
            };
            self.timers.pop();
            let slot = &mut self.slots[index as usize];
            slot.scheduled = None;
            if let Some(c) = slot.conn.as_mut() {
                c.handle_timeout(now);
            }
            self.after(index);
        }
    }

    /// The next application event: `(connection, event)`. Events of connections not yet
    /// accepted are not reported.
    pub fn poll_event(&mut self) -> Option<(ConnectionHandle, Event)> {
        self.events.pop_front()
    }
}
