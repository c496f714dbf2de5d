//! An endpoint: many TCP connections, listeners, timers, and RSTs for strays.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use wire::pseudo::PseudoHeader;
use wire::tcp::{TcpFlags, TcpPacket, TcpRepr, TcpSeqNumber};

use crate::isn::{CookieOptions, IsnGenerator, TableBuildHasher};
use crate::tcp::{CloseError, Connection, Event, RecvError, SendError, State, TcpConfig};
use crate::timer::TimerWheel;
use crate::{FourTuple, Instant};

/// Control segments (RSTs, SYN-cookie SYN-ACKs) queued at most; more are dropped and
/// counted in [`EndpointStats::control_dropped`] (a flood cannot grow the queue).
const MAX_CONTROL_QUEUE: usize = 4096;

/// How much longer IPv6's header is than IPv4's: what an IPv6 connection's MSS is short of
/// the configured (IPv4) one.
const IPV6_EXTRA: u16 = 20;

/// Endpoint settings.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// Shared by every connection. `tcp.mss` is for IPv4; IPv6 connections use 20 bytes
    /// less (IPv6's header is 40 bytes, IPv4's 20), so segments of either family fit the
    /// same MTU.
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionHandle {
    index: u32,
    generation: u32,
}

impl ConnectionHandle {
    /// The endpoint slot (dense: slots are reused, so it stays below the most
    /// connections ever open at once).
    pub(crate) fn index(self) -> u32 {
        self.index
    }

    /// Which use of the slot this is.
    pub(crate) fn generation(self) -> u32 {
        self.generation
    }
}

impl core::hash::Hash for ConnectionHandle {
    #[inline]
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(u64::from(self.generation) << 32 | u64::from(self.index));
    }
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

impl Transmit {
    /// A placeholder for [`Endpoint::poll_segment`] to write into.
    pub(crate) fn blank() -> Transmit {
        let any = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
        Transmit {
            tuple: FourTuple {
                local: any,
                remote: any,
            },
            repr: TcpRepr::default(),
        }
    }
}

/// Endpoint-wide counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EndpointStats {
    /// SYNs dropped because the SYN queue (with SYN cookies off) or the accept queue was
    /// full.
    pub syn_dropped: u64,
    /// SYNs the SYN filter dropped.
    pub syn_filter_dropped: u64,
    /// SYNs the SYN filter answered with RST.
    pub syn_filter_reset: u64,
    /// SYN-ACKs sent with a SYN cookie (the SYN queue was full).
    pub syn_cookies_sent: u64,
    /// Connections created from a valid SYN-cookie ACK.
    pub syn_cookies_accepted: u64,
    /// ACKs for a listener that matched no connection and carried no valid cookie.
    pub syn_cookies_rejected: u64,
    /// Segments handed in as bytes that were too short for their header.
    pub truncated: u64,
    /// Segments handed in as bytes with a bad checksum.
    pub bad_checksum: u64,
    /// Segments handed in as bytes with malformed options (zero-length, overlong,
    /// truncated, wrong length for the kind) or a bad data offset.
    pub malformed: u64,
    /// RSTs and cookie SYN-ACKs not queued because the control queue was full.
    pub control_dropped: u64,
    /// Segments for no connection or listener, answered by RST.
    pub rst_sent: u64,
    /// Established connections put in a listener's accept queue (a change tells the
    /// socket layer to look at its listeners).
    pub accept_queued: u64,
    /// Connections created (both directions).
    pub connections_opened: u64,
    /// Connections released.
    pub connections_closed: u64,
}

/// Why [`Endpoint::handle_segment_bytes`] dropped a segment (each also counted in
/// [`EndpointStats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SegmentError {
    /// Shorter than its header.
    #[error("segment truncated")]
    Truncated,
    /// The checksum did not verify.
    #[error("bad checksum")]
    BadChecksum,
    /// Malformed options or data offset.
    #[error("malformed TCP header or options")]
    Malformed,
    /// Local and remote addresses are of different families.
    #[error("address families differ")]
    FamilyMismatch,
}

/// What a SYN filter decides for a SYN (see [`Endpoint::set_syn_filter`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynVerdict {
    /// Go on: SYN queue (or a SYN cookie when it is full).
    Accept,
    /// Drop silently.
    Drop,
    /// Answer with RST (as if nobody listened).
    Reset,
}

/// What a SYN filter sees.
#[derive(Debug, Clone, Copy)]
pub struct SynInfo<'a> {
    /// The time the SYN arrived.
    pub now: Instant,
    /// `local` is the listener's address the SYN was sent to, `remote` the peer.
    pub tuple: FourTuple,
    /// The listener's own address (possibly the unspecified address).
    pub listener: SocketAddr,
    /// The SYN, options included.
    pub syn: &'a TcpRepr,
}

/// A SYN filter: consulted for every SYN for a listener before it enters the SYN queue
/// (or gets a cookie).
pub type SynFilter = Box<dyn FnMut(&SynInfo<'_>) -> SynVerdict + Send>;

struct FilterSlot(Option<SynFilter>);

impl core::fmt::Debug for FilterSlot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Some(SynFilter)"
        } else {
            "None"
        })
    }
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
    /// `Readable` / `Writable` events of this connection waiting in `events`
    /// ([`QUEUED_READABLE`], [`QUEUED_WRITABLE`]): another one is not queued behind them.
    queued: u8,
}

/// [`Slot::queued`]: a `Readable` event waits in the endpoint's queue.
const QUEUED_READABLE: u8 = 1;
/// [`Slot::queued`]: a `Writable` event waits in the endpoint's queue.
const QUEUED_WRITABLE: u8 = 2;

/// The [`Slot::queued`] bit of a readiness event (0 for the others, which are queued
/// every time: they happen once per connection).
fn queued_bit(ev: Event) -> u8 {
    match ev {
        Event::Readable => QUEUED_READABLE,
        Event::Writable => QUEUED_WRITABLE,
        Event::Connected | Event::Closed(_) => 0,
    }
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
/// Segment dispatch is one hash lookup of the 4-tuple (a folded multiply keyed with the
/// endpoint secret, see [`TableHasher`](crate::isn::TableHasher)), then one of the listen table for SYNs (and SYN-cookie ACKs) that match no
/// connection; there is no scan. Timers: a hierarchical timing wheel, O(1) per
/// (re)schedule and cancel (see `timer.rs`). Output: a queue of connections that may
/// have something to send, O(1) per segment.
///
/// # SYN queue pressure
/// When a listener's SYN queue is full, SYNs are answered with SYN cookies (RFC 4987; on
/// by default, [`set_syn_cookies`](Self::set_syn_cookies)): no state is kept until the
/// ACK comes back with a valid cookie. A SYN filter ([`set_syn_filter`](Self::set_syn_filter))
/// sees every SYN first.
#[derive(Debug)]
pub struct Endpoint {
    config: EndpointConfig,
    /// `config.tcp` with the MSS for IPv6 (see [`EndpointConfig::tcp`]).
    tcp6: Arc<TcpConfig>,
    isn: IsnGenerator,
    slots: Vec<Slot>,
    free: Vec<u32>,
    table: HashMap<FourTuple, u32, TableBuildHasher>,
    /// The last tuple `handle_segment` found in `table` and its slot: a flow's segments
    /// come in runs, and this spares them the keyed hash (cleared when a slot is freed).
    last_found: Option<(FourTuple, u32)>,
    listeners: HashMap<SocketAddr, Listener, TableBuildHasher>,
    timers: TimerWheel,
    /// Slots whose timers fired (reused across `handle_timeout` calls).
    fired: Vec<u32>,
    dirty: VecDeque<u32>,
    events: VecDeque<(ConnectionHandle, Event)>,
    rst_queue: VecDeque<Transmit>,
    stats: EndpointStats,
    syn_cookies: bool,
    syn_filter: FilterSlot,
    /// Payload buffer for segments built outside `poll_transmit` (never holds payload).
    scratch: Vec<u8>,
}

impl Endpoint {
    /// An endpoint with no connections.
    pub fn new(config: EndpointConfig) -> Self {
        let hasher = TableBuildHasher::new(config.secret);
        let mut tcp6 = (*config.tcp).clone();
        tcp6.mss = tcp6.mss.saturating_sub(IPV6_EXTRA).max(1);
        Endpoint {
            isn: IsnGenerator::new(config.secret),
            tcp6: Arc::new(tcp6),
            config,
            slots: Vec::new(),
            free: Vec::new(),
            table: HashMap::with_hasher(hasher),
            last_found: None,
            listeners: HashMap::with_hasher(hasher),
            timers: TimerWheel::default(),
            fired: Vec::new(),
            dirty: VecDeque::new(),
            events: VecDeque::new(),
            rst_queue: VecDeque::new(),
            stats: EndpointStats::default(),
            syn_cookies: true,
            syn_filter: FilterSlot(None),
            scratch: Vec::new(),
        }
    }

    /// Answers SYNs with SYN cookies when a listener's SYN queue is full (default on);
    /// off, such SYNs are dropped.
    pub fn set_syn_cookies(&mut self, enabled: bool) {
        self.syn_cookies = enabled;
    }

    /// Installs (or removes) the SYN filter: a callback consulted for every SYN that
    /// reaches a listener, before it takes a SYN-queue entry or a cookie.
    pub fn set_syn_filter(&mut self, filter: Option<SynFilter>) {
        self.syn_filter = FilterSlot(filter);
    }

    /// [`Connection::set_congestion_control`] on `h`; false for a stale handle.
    pub fn set_congestion_control(
        &mut self,
        h: ConnectionHandle,
        algo: crate::tcp::CongestionControl,
    ) -> bool {
        let Some(c) = self.conn_mut(h) else {
            return false;
        };
        c.set_congestion_control(algo);
        true
    }

    /// [`Connection::set_keepalive`] on `h`; false for a stale handle.
    pub fn set_keepalive(
        &mut self,
        now: Instant,
        h: ConnectionHandle,
        keepalive: Option<crate::tcp::KeepAlive>,
    ) -> bool {
        let Some(c) = self.conn_mut(h) else {
            return false;
        };
        c.set_keepalive(now, keepalive);
        self.after(h.index);
        true
    }

    /// Counters.
    pub fn stats(&self) -> EndpointStats {
        self.stats
    }

    /// [`EndpointStats::accept_queued`], without copying the counters.
    pub fn accept_queued(&self) -> u64 {
        self.stats.accept_queued
    }

    /// Live connections (any state but released).
    pub fn connection_count(&self) -> usize {
        self.table.len()
    }

    /// Connections with a pending timer (one entry each in the timer wheel).
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

    /// The settings of a connection on `tuple`: the MSS fits its address family.
    fn tcp_config(&self, tuple: &FourTuple) -> Arc<TcpConfig> {
        if tuple.local.is_ipv4() {
            self.config.tcp.clone()
        } else {
            self.tcp6.clone()
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
        let (isn, ts_offset) = self.isn.isn_and_ts_offset(now, &tuple);
        let conn = Connection::connect(self.tcp_config(&tuple), now, tuple, isn, ts_offset);
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
        // Only a read that took bytes changes the connection (end of stream and errors
        // leave it as it was).
        if let Ok(Some(_)) = r {
            self.after(h.index);
        }
        r
    }

    /// [`Connection::recv_with`] on `h`: received bytes consumed in place.
    pub fn recv_with(
        &mut self,
        h: ConnectionHandle,
        f: impl FnOnce(&[u8]) -> usize,
    ) -> Result<Option<usize>, RecvError> {
        let r = match self.conn_mut(h) {
            Some(c) => c.recv_with(f),
            None => return Err(RecvError::ConnectionLost(crate::CloseReason::Closed)),
        };
        if let Ok(Some(_)) = r {
            self.after(h.index);
        }
        r
    }

    /// [`Connection::close`] on `h`.
    pub fn close(&mut self, now: Instant, h: ConnectionHandle) -> Result<(), CloseError> {
        let r = match self.conn_mut(h) {
            Some(c) => c.close(now),
            None => return Err(CloseError::AlreadyClosed),
        };
        // A second close changes nothing.
        if r.is_ok() {
            self.after(h.index);
        }
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
        // The cache is written only when it changes: copying the tuple that the caller
        // has just built field by field reads it with 16-byte loads that cannot be
        // forwarded from those stores (a stall of ~1.4% of tcp-bulk-memory's time when
        // it was written on every segment, perf annotate).
        let found = match self.last_found {
            Some((t, index)) if t == tuple => Some(index),
            _ => {
                let found = self.table.get(&tuple).copied();
                if let Some(index) = found {
                    self.last_found = Some((tuple, index));
                }
                found
            }
        };
        if let Some(index) = found {
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
        if f.contains(TcpFlags::ACK) && !f.contains(TcpFlags::SYN) {
            if let Some(key) = self.listener_for(tuple.local) {
                if self.on_cookie_ack(now, key, tuple, seg, payload) {
                    return;
                }
            }
        }
        self.reset_for(tuple, seg, payload);
    }

    /// Parses `bytes` (a TCP header and payload; `tuple.local` its destination) with
    /// [`wire`], checksum included, and hands it to
    /// [`handle_segment`](Self::handle_segment). A segment that does not parse is dropped
    /// and counted.
    pub fn handle_segment_bytes(
        &mut self,
        now: Instant,
        tuple: FourTuple,
        bytes: &[u8],
    ) -> Result<(), SegmentError> {
        let pseudo = match (tuple.remote, tuple.local) {
            (SocketAddr::V4(s), SocketAddr::V4(d)) => PseudoHeader::V4 {
                src: *s.ip(),
                dst: *d.ip(),
            },
            (SocketAddr::V6(s), SocketAddr::V6(d)) => PseudoHeader::V6 {
                src: *s.ip(),
                dst: *d.ip(),
            },
            _ => return Err(SegmentError::FamilyMismatch),
        };
        let parsed = TcpPacket::new_checked(bytes)
            .and_then(|pkt| TcpRepr::parse(&pkt, Some(&pseudo)).map(|r| (pkt, r)));
        match parsed {
            Ok((pkt, repr)) => {
                self.handle_segment(now, tuple, &repr, pkt.payload());
                Ok(())
            }
            Err(wire::Error::BadChecksum) => {
                self.stats.bad_checksum += 1;
                Err(SegmentError::BadChecksum)
            }
            Err(wire::Error::Truncated) => {
                self.stats.truncated += 1;
                Err(SegmentError::Truncated)
            }
            Err(_) => {
                self.stats.malformed += 1;
                Err(SegmentError::Malformed)
            }
        }
    }

    fn push_control(&mut self, t: Transmit) {
        if self.rst_queue.len() >= MAX_CONTROL_QUEUE {
            self.stats.control_dropped += 1;
        } else {
            self.rst_queue.push_back(t);
        }
    }

    /// Nobody owns `seg`: RST (RFC 9293 §3.10.7.1).
    fn reset_for(&mut self, tuple: FourTuple, seg: &TcpRepr, payload: &[u8]) {
        let f = seg.flags;
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
        self.push_control(Transmit { tuple, repr: r });
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

    /// A SYN for a listener: the SYN filter first; then a new SYN-RECEIVED connection if
    /// both queues have room, or a SYN cookie if only the SYN queue is full.
    fn on_syn(&mut self, now: Instant, key: SocketAddr, tuple: FourTuple, syn: &TcpRepr) {
        if let Some(filter) = self.syn_filter.0.as_mut() {
            let info = SynInfo {
                now,
                tuple,
                listener: key,
                syn,
            };
            match filter(&info) {
                SynVerdict::Accept => {}
                SynVerdict::Drop => {
                    self.stats.syn_filter_dropped += 1;
                    return;
                }
                SynVerdict::Reset => {
                    self.stats.syn_filter_reset += 1;
                    self.reset_for(tuple, syn, &[]);
                    return;
                }
            }
        }
        let Some(l) = self.listeners.get_mut(&key) else {
            return;
        };
        if l.accept_queue.len() >= l.backlog {
            self.stats.syn_dropped += 1;
            return;
        }
        if l.syn_queue >= l.backlog {
            if self.syn_cookies {
                self.send_cookie(now, tuple, syn);
            } else {
                self.stats.syn_dropped += 1;
            }
            return;
        }
        l.syn_queue += 1;
        let (isn, ts_offset) = self.isn.isn_and_ts_offset(now, &tuple);
        let conn = Connection::accept(self.tcp_config(&tuple), now, tuple, syn, isn, ts_offset);
        let h = self.insert(tuple, conn, Some(key), false);
        self.after(h.index);
    }

    /// Answers `syn` with a stateless SYN-ACK whose ISN is a cookie (RFC 4987 §3.6).
    fn send_cookie(&mut self, now: Instant, tuple: FourTuple, syn: &TcpRepr) {
        let mut syn = *syn;
        let opts = CookieOptions {
            window_scale: syn.window_scale,
            sack: syn.sack_permitted,
        };
        if syn.timestamp.is_none() {
            // Nothing can carry these back: offer neither (Linux does the same).
            syn.window_scale = None;
            syn.sack_permitted = false;
        }
        let iss = self
            .isn
            .cookie(now, &tuple, syn.seq_number, syn.max_seg_size.unwrap_or(536));
        // Build the SYN-ACK with the same code as a stateful one, then forget it.
        let mut c = Connection::accept(
            self.tcp_config(&tuple),
            now,
            tuple,
            &syn,
            iss,
            self.isn.ts_offset(&tuple),
        );
        let Some(mut repr) = c.poll_transmit(now, &mut self.scratch) else {
            return;
        };
        if let Some((tsval, ecr)) = repr.timestamp {
            repr.timestamp = Some((opts.encode_tsval(tsval), ecr));
        }
        self.stats.syn_cookies_sent += 1;
        self.push_control(Transmit { tuple, repr });
    }

    /// An ACK for a listener and no connection: a connection if it returns a valid
    /// cookie and the accept queue has room. False when it is not a cookie ACK.
    fn on_cookie_ack(
        &mut self,
        now: Instant,
        key: SocketAddr,
        tuple: FourTuple,
        seg: &TcpRepr,
        payload: &[u8],
    ) -> bool {
        if !self.syn_cookies || seg.flags.contains(TcpFlags::RST) {
            return false;
        }
        let peer_isn = seg.seq_number - 1;
        let iss = seg.ack_number - 1;
        let Some(mss) = self.isn.check_cookie(now, &tuple, peer_isn, iss) else {
            self.stats.syn_cookies_rejected += 1;
            return false;
        };
        let Some(l) = self.listeners.get_mut(&key) else {
            return false;
        };
        if l.accept_queue.len() >= l.backlog {
            // Drop: the peer retransmits, maybe when there is room.
            self.stats.syn_dropped += 1;
            return true;
        }
        l.syn_queue += 1;
        let opts = seg
            .timestamp
            .map(|(_, ecr)| CookieOptions::from_ts_bits(ecr & 0x3f));
        let syn = TcpRepr {
            src_port: seg.src_port,
            dst_port: seg.dst_port,
            seq_number: peer_isn,
            flags: TcpFlags::SYN,
            max_seg_size: Some(mss),
            window_scale: opts.and_then(|o| o.window_scale),
            sack_permitted: opts.is_some_and(|o| o.sack),
            timestamp: seg.timestamp.map(|(val, _)| (val, 0)),
            ..TcpRepr::default()
        };
        let mut conn = Connection::accept_cookie(
            self.tcp_config(&tuple),
            now,
            tuple,
            &syn,
            iss,
            self.isn.ts_offset(&tuple),
        );
        conn.handle_segment(now, seg, payload);
        self.stats.syn_cookies_accepted += 1;
        let h = self.insert(tuple, conn, Some(key), false);
        self.after(h.index);
        true
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
                    queued: 0,
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
        s.queued = 0;
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

    /// After any input to slot `index`: route its events, queue it for output if it may
    /// have something to send, reschedule its timer, and release it once closed.
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
                            self.stats.accept_queued += 1;
                        }
                        continue;
                    }
                }
                Event::Closed(_) => closed = true,
                _ => {}
            }
            // Readiness is a state, not a count: while one `Readable` (or `Writable`)
            // of this connection waits in the queue, the application has not looked yet
            // and another says nothing new. A bulk receiver queued one per segment.
            let bit = queued_bit(ev);
            if slot.owned && slot.queued & bit == 0 {
                slot.queued |= bit;
                self.events.push_back((h, ev));
            }
        }
        if !slot.dirty && conn.may_transmit() {
            slot.dirty = true;
            self.dirty.push_back(index);
        }
        let t = conn.poll_timeout();
        if t != slot.scheduled {
            slot.scheduled = t;
            match t {
                Some(t) => self.timers.insert(index, t),
                None => self.timers.cancel(index),
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
        let tuple = conn.tuple();
        while let Some(repr) = conn.poll_transmit(0, &mut self.scratch) {
            self.rst_queue.push_back(Transmit { tuple, repr });
        }
        self.timers.cancel(index);
        if let Some(key) = slot.listener.take() {
            if let Some(l) = self.listeners.get_mut(&key) {
                l.syn_queue -= 1;
            }
        }
        slot.conn = None;
        slot.scheduled = None;
        self.table.remove(&tuple);
        self.last_found = None;
        self.free.push(index);
        self.stats.connections_closed += 1;
    }

    /// The next segment to send, its payload written to `buf` (cleared first).
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Transmit> {
        buf.clear();
        let mut t = Transmit::blank();
        let slot = self.poll_segment(now, &mut t)?;
        let (a, b) = self.segment_payload(slot, &t.repr);
        buf.extend_from_slice(a);
        buf.extend_from_slice(b);
        Some(t)
    }

    /// [`poll_transmit`](Self::poll_transmit) without copying the payload: the segment
    /// is written into `out` (in place: see [`Connection::poll_segment`]), and the slot of
    /// the connection whose send buffer holds its payload is returned (`Some(None)` for
    /// control segments, which carry none). Read the payload with
    /// [`segment_payload`](Self::segment_payload) before anything else changes the
    /// endpoint.
    pub(crate) fn poll_segment(&mut self, now: Instant, out: &mut Transmit) -> Option<Option<u32>> {
        if let Some(t) = self.rst_queue.pop_front() {
            *out = t;
            return Some(None);
        }
        while let Some(&index) = self.dirty.front() {
            let slot = &mut self.slots[index as usize];
            let sent = match slot.conn.as_mut() {
                Some(c) => {
                    out.tuple = c.tuple();
                    c.poll_segment(now, &mut out.repr)
                }
                None => false,
            };
            self.dirty.pop_front();
            if !sent {
                slot.dirty = false;
                self.after_transmit(index);
                continue;
            }
            // Round robin: the next call serves the next connection; one with nothing
            // more to send leaves the queue now (no poll to learn it).
            if slot.conn.as_ref().is_some_and(|c| c.may_transmit()) {
                self.dirty.push_back(index);
            } else {
                slot.dirty = false;
            }
            self.after_transmit(index);
            return Some(Some(index));
        }
        None
    }

    /// The payload of a segment [`poll_segment`](Self::poll_segment) returned, as two
    /// slices; empty for a control segment (or a connection already released, which
    /// sends none).
    // Inlined (as `after_transmit`): called once per segment sent; out of line they cost
    // 1% of tcp-bulk-memory (median of 10, twice: 45.9 -> 46.4 Gbit/s inlined).
    #[inline(always)]
    pub(crate) fn segment_payload(&self, slot: Option<u32>, repr: &TcpRepr) -> (&[u8], &[u8]) {
        if repr.payload_len == 0 {
            return (&[], &[]);
        }
        match slot.and_then(|i| self.slots.get(i as usize)?.conn.as_ref()) {
            Some(c) => c.segment_payload(repr.seq_number, repr.payload_len),
            None => (&[], &[]),
        }
    }

    #[inline(always)]
    fn after_transmit(&mut self, index: u32) {
        let slot = &mut self.slots[index as usize];
        if let Some(conn) = slot.conn.as_ref() {
            let t = conn.poll_timeout();
            if t != slot.scheduled {
                slot.scheduled = t;
                match t {
                    Some(t) => self.timers.insert(index, t),
                    None => self.timers.cancel(index),
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

    /// The instant at which [`handle_timeout`](Self::handle_timeout) must run next. It
    /// is never after a connection's deadline by more than the wheel's tick (65.5 µs,
    /// rounded up to the tick); it may be an instant at which only the wheel advances.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        self.timers.next_expiry()
    }

    /// Runs the timers of every connection due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut fired = core::mem::take(&mut self.fired);
        fired.clear();
        self.timers.expire(now, &mut fired);
        for &index in &fired {
            let slot = &mut self.slots[index as usize];
            slot.scheduled = None;
            if let Some(c) = slot.conn.as_mut() {
                c.handle_timeout(now);
            }
            self.after(index);
        }
        self.fired = fired;
    }

    /// The next application event: `(connection, event)`. Events of connections not yet
    /// accepted are not reported. A connection has at most one `Readable` and one
    /// `Writable` waiting: readiness that arises again before the first is taken is
    /// already reported by it (read or write until "would block" on each).
    pub fn poll_event(&mut self) -> Option<(ConnectionHandle, Event)> {
        let (h, ev) = self.events.pop_front()?;
        // The slot's bit is cleared only for its current connection (an event of a
        // released one leaves its successor's alone).
        if let Some(s) = self
            .slots
            .get_mut(h.index as usize)
            .filter(|s| s.generation == h.generation)
        {
            s.queued &= !queued_bit(ev);
        }
        Some((h, ev))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Moves every segment `from` has to send into `to`; returns how many.
    fn deliver(now: Instant, from: &mut Endpoint, to: &mut Endpoint) -> usize {
        let mut buf = Vec::new();
        let mut n = 0;
        while let Some(t) = from.poll_transmit(now, &mut buf) {
            let tuple = FourTuple {
                local: t.tuple.remote,
                remote: t.tuple.local,
            };
            to.handle_segment(now, tuple, &t.repr, &buf);
            n += 1;
        }
        n
    }

    #[test]
    fn readiness_events_wait_once_per_connection() {
        let (mut a, mut b) = (
            Endpoint::new(EndpointConfig::default()),
            Endpoint::new(EndpointConfig::default()),
        );
        let (la, lb): (SocketAddr, SocketAddr) = (
            "10.0.0.1:1000".parse().unwrap(),
            "10.0.0.2:80".parse().unwrap(),
        );
        b.listen(lb, 4).unwrap();
        let now = 1_000_000_000;
        let ha = a.connect(now, la, lb).unwrap();
        for _ in 0..3 {
            deliver(now, &mut a, &mut b);
            deliver(now, &mut b, &mut a);
        }
        let hb = b.accept(lb).expect("established");
        while a.poll_event().is_some() {}
        while b.poll_event().is_some() {}
        // Several data segments before the application looks: one Readable.
        assert_eq!(a.send(ha, &[7; 10_000]), Ok(10_000));
        assert!(deliver(now, &mut a, &mut b) > 1);
        assert_eq!(b.poll_event(), Some((hb, Event::Readable)));
        assert_eq!(b.poll_event(), None);
        // Taken: the next arrival queues a new one.
        let mut sink = [0u8; 65536];
        assert!(matches!(b.recv(hb, &mut sink), Ok(Some(n)) if n > 1460));
        deliver(now, &mut b, &mut a);
        assert!(deliver(now, &mut a, &mut b) > 0);
        assert_eq!(b.poll_event(), Some((hb, Event::Readable)));
        assert_eq!(b.poll_event(), None);
    }
}
