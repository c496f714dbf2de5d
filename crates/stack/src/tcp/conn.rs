//! One TCP connection (RFC 9293), sans-IO.

use std::sync::Arc;

use wire::tcp::{TcpRepr, TcpSeqNumber as Seq};

use super::cc::{Cc, CongestionControl};
use super::recv::RecvBuffer;
use super::rtt::RttEstimator;
use super::sack::Scoreboard;
use super::send::SendBuffer;
use super::{CloseError, CloseReason, Event, KeepAlive, RecvError, SendError, TcpConfig};
use crate::{FourTuple, Instant, MILLIS, SECONDS};

/// The RFC 9293 §3.3.2 connection states.
///
/// A [`Connection`] is never in `Listen`: listening is the endpoint's listen table, which
/// creates a connection in `SynReceived` per accepted SYN. The variant exists so that
/// callers can report a listener's state with the same type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// No connection.
    Closed,
    /// Waiting for a SYN (listeners only).
    Listen,
    /// Our SYN sent, waiting for the peer's.
    SynSent,
    /// Peer's SYN received and our SYN-ACK sent.
    SynReceived,
    /// Data flows both ways.
    Established,
    /// We closed; our FIN not yet acked.
    FinWait1,
    /// We closed and our FIN is acked; waiting for the peer's FIN.
    FinWait2,
    /// The peer closed; we may still send.
    CloseWait,
    /// Both closed at once; waiting for the ACK of our FIN.
    Closing,
    /// The peer closed, then we did; waiting for the ACK of our FIN.
    LastAck,
    /// Both FINs acked; waiting 2×MSL for stray segments.
    TimeWait,
}

impl State {
    /// True once both SYNs have been exchanged (RFC 9293 "synchronized" states).
    pub fn is_synchronized(self) -> bool {
        !matches!(
            self,
            State::Closed | State::Listen | State::SynSent | State::SynReceived
        )
    }
}

/// Counters for one connection (u32: they are per connection and wrap harmlessly).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectionStats {
    /// Segments handed out by `poll_transmit`.
    pub segments_sent: u32,
    /// Segments given to `handle_segment`.
    pub segments_received: u32,
    /// Segments sent again (any reason).
    pub retransmits: u32,
    /// Fast retransmits (third duplicate ACK or NewReno partial ACK).
    pub fast_retransmits: u32,
    /// RTO expiries.
    pub timeouts: u32,
    /// Segments dropped by PAWS (RFC 7323 §5).
    pub paws_rejected: u32,
    /// Challenge ACKs sent (RFC 5961).
    pub challenge_acks: u32,
    /// Segments dropped because the out-of-order queue was full.
    pub ooo_dropped: u32,
    /// Segments that failed the acceptability test (RFC 9293 §3.10.7.4).
    pub unacceptable: u32,
    /// SACK blocks ignored as malformed or outside `[SND.UNA, SND.MAX)` (RFC 2018 §5);
    /// blocks wholly below SND.UNA (old, or D-SACK) are ignored without counting.
    pub sack_rejected: u32,
    /// Rescue retransmissions (RFC 6675 §4, NextSeg rule 4).
    pub rescue_retransmits: u32,
    /// Zero-window probes sent by the persist timer.
    pub window_probes: u32,
    /// Keep-alive probes sent.
    pub keepalive_probes: u32,
}

mod ev {
    pub const CONNECTED: u8 = 1;
    pub const READABLE: u8 = 2;
    pub const WRITABLE: u8 = 4;
    pub const CLOSED: u8 = 8;
}

/// One TCP connection's state machine, with no I/O.
///
/// # Call order
/// Create with [`connect`](Self::connect) (active open) or [`accept`](Self::accept)
/// (passive open from a SYN the endpoint's listener took). Then, in any order:
/// * inputs: [`handle_segment`](Self::handle_segment) for each segment of this 4-tuple,
///   [`handle_timeout`](Self::handle_timeout) when [`poll_timeout`](Self::poll_timeout)'s
///   instant has passed, and the application's [`send`](Self::send),
///   [`recv`](Self::recv), [`close`](Self::close), [`abort`](Self::abort);
/// * after each input: [`poll_transmit`](Self::poll_transmit) until `None`,
///   [`poll_event`](Self::poll_event) until `None`, and [`poll_timeout`](Self::poll_timeout)
///   again (it may have moved).
///
/// `now` must never go backwards. Once [`state`](Self::state) is `Closed` and the
/// [`Event::Closed`] event has been taken, the connection can be dropped.
#[derive(Debug)]
pub struct Connection {
    config: Arc<TcpConfig>,
    tuple: FourTuple,
    state: State,

    iss: Seq,
    snd_una: Seq,
    snd_nxt: Seq,
    snd_max: Seq,
    snd_wnd: u32,
    max_snd_wnd: u32,
    snd_wl1: Seq,
    snd_wl2: Seq,
    snd_mss: u16,
    snd_wscale: u8,
    rcv_wscale: u8,
    send: SendBuffer,
    /// `close()` was called: FIN goes after the last queued byte (at `send.end()`).
    fin_queued: bool,

    irs: Seq,
    rcv_nxt: Seq,
    /// Right edge of the window we last advertised (never moves left).
    rcv_adv: Seq,
    recv: RecvBuffer,
    fin_received: bool,

    ts_enabled: bool,
    ws_enabled: bool,
    ts_recent: u32,
    ts_offset: u32,
    last_ack_sent: Seq,

    rtt: RttEstimator,
    /// The one segment being timed: (sequence after it, time sent). Karn: cleared on any
    /// retransmission.
    rtt_sample: Option<(Seq, Instant)>,
    cc: Cc,
    /// `Some(recovery point)` while in fast recovery (NewReno or RFC 6675 SACK-based).
    recovery: Option<Seq>,
    /// SACK was negotiated (RFC 2018 §2).
    sack_enabled: bool,
    /// What the peer SACKed above SND.UNA.
    scoreboard: Scoreboard,
    /// RFC 6675 HighRxt: end of the highest retransmission in this recovery.
    high_rxt: Seq,
    /// RFC 6675 RescueRxt: set when the rescue retransmission of a recovery went out.
    rescue_rxt: Option<Seq>,
    /// Sequence numbers of the most recently received out-of-order segments, newest
    /// first: the first SACK block is the one holding `sack_anchors[0]` (RFC 2018 §4).
    sack_anchors: [Seq; 4],
    sack_anchor_count: u8,
    /// Highest sequence sent when the last recovery or RTO began (RFC 6582 `recover`).
    recover: Seq,
    dup_acks: u8,
    retries: u8,

    rto_at: Option<Instant>,
    delack_at: Option<Instant>,
    persist_at: Option<Instant>,
    time_wait_at: Option<Instant>,
    keepalive_at: Option<Instant>,
    keepalive: Option<KeepAlive>,
    /// When the last segment from the peer arrived (keep-alive idleness).
    last_rcv: Instant,
    /// Keep-alive probes sent since the peer was last heard.
    ka_probes: u8,
    /// Persist timer doublings since the window closed.
    persist_backoff: u8,
    /// Zero-window probes sent without any ACK in return.
    probes_out: u8,

    syn_pending: bool,
    ack_now: bool,
    rst_pending: bool,
    /// A bare RST (sequence number = the offending segment's ACK) to send.
    rst_reply: Option<Seq>,
    probe_pending: bool,
    /// A segment at this sequence is to be retransmitted ahead of new data.
    rtx_at: Option<Seq>,
    segs_unacked: u8,
    events: u8,
    close_reason: Option<CloseReason>,
    challenge_window: Instant,
    challenge_count: u16,
    stats: ConnectionStats,
}

fn window_shift(buffer: u32) -> u8 {
    let mut s = 0u8;
    while (buffer >> s) > 0xffff && s < 14 {
        s += 1;
    }
    s
}

impl Connection {
    fn new(
        config: Arc<TcpConfig>,
        now: Instant,
        tuple: FourTuple,
        iss: Seq,
        ts_offset: u32,
    ) -> Self {
        let mss = u32::from(config.mss);
        let rtt = RttEstimator::new(config.initial_rto);
        Connection {
            tuple,
            state: State::Closed,
            iss,
            snd_una: iss,
            snd_nxt: iss,
            snd_max: iss,
            snd_wnd: 0,
            max_snd_wnd: 0,
            snd_wl1: Seq(0),
            snd_wl2: iss,
            snd_mss: 536.min(config.mss),
            snd_wscale: 0,
            rcv_wscale: 0,
            send: SendBuffer::new(iss + 1),
            fin_queued: false,
            irs: Seq(0),
            rcv_nxt: Seq(0),
            rcv_adv: Seq(0),
            recv: RecvBuffer::default(),
            fin_received: false,
            ts_enabled: false,
            ws_enabled: false,
            ts_recent: 0,
            ts_offset,
            last_ack_sent: Seq(0),
            rtt,
            rtt_sample: None,
            cc: Cc::new(config.congestion_control, mss),
            recovery: None,
            sack_enabled: false,
            scoreboard: Scoreboard::default(),
            high_rxt: iss,
            rescue_rxt: None,
            sack_anchors: [iss; 4],
            sack_anchor_count: 0,
            recover: iss,
            dup_acks: 0,
            retries: 0,
            rto_at: None,
            delack_at: None,
            persist_at: None,
            time_wait_at: None,
            keepalive_at: None,
            keepalive: config.keepalive,
            last_rcv: now,
            ka_probes: 0,
            persist_backoff: 0,
            probes_out: 0,
            syn_pending: false,
            ack_now: false,
            rst_pending: false,
            rst_reply: None,
            probe_pending: false,
            rtx_at: None,
            segs_unacked: 0,
            events: 0,
            close_reason: None,
            challenge_window: now,
            challenge_count: 0,
            stats: ConnectionStats::default(),
            config,
        }
    }

    /// Active open: the connection starts in SYN-SENT and its first
    /// [`poll_transmit`](Self::poll_transmit) is the SYN. `iss` and `ts_offset` come from
    /// [`crate::isn::IsnGenerator`].
    pub fn connect(
        config: Arc<TcpConfig>,
        now: Instant,
        tuple: FourTuple,
        iss: Seq,
        ts_offset: u32,
    ) -> Self {
        let mut c = Connection::new(config, now, tuple, iss, ts_offset);
        c.state = State::SynSent;
        c.syn_pending = true;
        if c.config.window_scaling {
            c.rcv_wscale = window_shift(c.config.recv_buffer);
        }
        c
    }

    /// Passive open from `syn` (a segment with SYN and without ACK, RST or FIN) that a
    /// listener accepted: the connection starts in SYN-RECEIVED and its first
    /// [`poll_transmit`](Self::poll_transmit) is the SYN-ACK, with only the options the peer
    /// offered.
    pub fn accept(
        config: Arc<TcpConfig>,
        now: Instant,
        tuple: FourTuple,
        syn: &TcpRepr,
        iss: Seq,
        ts_offset: u32,
    ) -> Self {
        let mut c = Connection::new(config, now, tuple, iss, ts_offset);
        c.state = State::SynReceived;
        c.syn_pending = true;
        c.take_syn_options(syn);
        c.irs = syn.seq_number;
        c.rcv_nxt = syn.seq_number + 1;
        c.rcv_adv = c.rcv_nxt;
        c.last_ack_sent = c.rcv_nxt;
        c.snd_wnd = u32::from(syn.window_len); // never scaled in a SYN
        c.max_snd_wnd = c.snd_wnd;
        c.snd_wl1 = syn.seq_number;
        c.stats.segments_received = 1;
        c
    }

    /// Passive open from the ACK that returned a valid SYN cookie (RFC 4987): `syn` is the
    /// peer's SYN as rebuilt from the cookie (sequence number, MSS, and the options the
    /// cookie carried), `iss` the cookie. The SYN-ACK is taken as already sent (the
    /// stateless one); hand the ACK to [`handle_segment`](Self::handle_segment) next.
    pub fn accept_cookie(
        config: Arc<TcpConfig>,
        now: Instant,
        tuple: FourTuple,
        syn: &TcpRepr,
        iss: Seq,
        ts_offset: u32,
    ) -> Self {
        let mut c = Connection::accept(config, now, tuple, syn, iss, ts_offset);
        c.syn_pending = false;
        c.snd_nxt = iss + 1;
        c.snd_max = iss + 1;
        // The window the SYN-ACK offered (a SYN's window is never scaled).
        c.rcv_adv = c.rcv_nxt + (c.free_window().min(0xffff) as usize);
        c
    }

    /// Applies the options of the peer's SYN (or SYN-ACK).
    fn take_syn_options(&mut self, syn: &TcpRepr) {
        let peer_mss = syn.max_seg_size.unwrap_or(536).max(64);
        self.snd_mss = peer_mss.min(self.config.mss);
        match (self.config.window_scaling, syn.window_scale) {
            (true, Some(ws)) => {
                self.ws_enabled = true;
                self.snd_wscale = ws.min(14);
                self.rcv_wscale = window_shift(self.config.recv_buffer);
            }
            _ => {
                self.ws_enabled = false;
                self.snd_wscale = 0;
                self.rcv_wscale = 0;
            }
        }
        if let (true, Some((tsval, _))) = (self.config.timestamps, syn.timestamp) {
            self.ts_enabled = true;
            self.ts_recent = tsval;
            // The TS option takes 12 bytes of every segment (RFC 7323 §3.2).
            self.snd_mss = self.snd_mss.saturating_sub(12).max(64);
        }
        self.sack_enabled = self.config.sack && syn.sack_permitted;
        self.cc = Cc::new(self.cc.algorithm(), u32::from(self.snd_mss));
    }

    // ----- accessors -------------------------------------------------------------------

    /// The RFC 9293 state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The 4-tuple.
    pub fn tuple(&self) -> FourTuple {
        self.tuple
    }

    /// Counters.
    pub fn stats(&self) -> ConnectionStats {
        self.stats
    }

    /// The MSS we send with (after the peer's MSS and option overhead).
    pub fn send_mss(&self) -> u16 {
        self.snd_mss
    }

    /// RCV.NXT: the next sequence number expected from the peer.
    pub fn receive_next(&self) -> Seq {
        self.rcv_nxt
    }

    /// The peer's window in bytes, scaled.
    pub fn send_window(&self) -> u32 {
        self.snd_wnd
    }

    /// `(send shift, receive shift)` when window scaling was negotiated.
    pub fn window_scale(&self) -> Option<(u8, u8)> {
        self.ws_enabled
            .then_some((self.snd_wscale, self.rcv_wscale))
    }

    /// True when timestamps (and PAWS) were negotiated.
    pub fn timestamps_enabled(&self) -> bool {
        self.ts_enabled
    }

    /// True when SACK was negotiated (RFC 2018).
    pub fn sack_enabled(&self) -> bool {
        self.sack_enabled
    }

    /// Congestion window in bytes.
    pub fn congestion_window(&self) -> u32 {
        self.cc.cwnd
    }

    /// Slow-start threshold in bytes (`u32::MAX` until the first congestion event).
    pub fn slow_start_threshold(&self) -> u32 {
        self.cc.ssthresh
    }

    /// True while in fast recovery (NewReno, or SACK-based per RFC 6675).
    pub fn in_recovery(&self) -> bool {
        self.recovery.is_some()
    }

    /// The congestion-control algorithm in use.
    pub fn congestion_control(&self) -> CongestionControl {
        self.cc.algorithm()
    }

    /// Switches this connection's congestion control (the endpoint default comes from
    /// [`TcpConfig::congestion_control`]). The window and threshold are kept.
    pub fn set_congestion_control(&mut self, algo: CongestionControl) {
        self.cc.set_algorithm(algo);
    }

    /// The keep-alive settings of this connection (`None`: off).
    pub fn keepalive(&self) -> Option<KeepAlive> {
        self.keepalive
    }

    /// Turns keep-alive on or off for this connection (default from
    /// [`TcpConfig::keepalive`]). Takes effect from `now`.
    pub fn set_keepalive(&mut self, now: Instant, keepalive: Option<KeepAlive>) {
        self.keepalive = keepalive;
        self.ka_probes = 0;
        self.keepalive_at = match keepalive {
            Some(ka) if self.keepalive_state() => Some(now.max(self.last_rcv) + ka.idle),
            _ => None,
        };
    }

    fn keepalive_state(&self) -> bool {
        matches!(
            self.state,
            State::Established | State::CloseWait | State::FinWait2
        )
    }

    /// The current retransmission timeout, backoff included (ns).
    pub fn rto(&self) -> Instant {
        self.rtt.rto(self.config.max_rto)
    }

    /// Smoothed RTT, once there is a sample.
    pub fn smoothed_rtt(&self) -> Option<Instant> {
        self.rtt.srtt()
    }

    /// Bytes queued and not yet acknowledged by the peer.
    pub fn send_queue_len(&self) -> usize {
        self.send.len()
    }

    /// Bytes received in order and not yet read.
    pub fn recv_queue_len(&self) -> usize {
        self.recv.len()
    }

    /// Out-of-order ranges held.
    pub fn ooo_ranges(&self) -> usize {
        self.recv.ooo_ranges()
    }

    /// Heap bytes this connection holds now (buffers only; zero when idle).
    pub fn heap_bytes(&self) -> usize {
        self.send.heap_bytes() + self.recv.heap_bytes() + self.scoreboard.heap_bytes()
    }

    /// Why the connection ended, once it has.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.close_reason
    }

    // ----- application side -----------------------------------------------------------

    /// Queues bytes for sending; returns how many were taken (at most the free space of
    /// the send buffer). Allowed from SYN-SENT on, until [`close`](Self::close).
    pub fn send(&mut self, data: &[u8]) -> Result<usize, SendError> {
        if let Some(r) = self.close_reason {
            return Err(SendError::ConnectionLost(r));
        }
        if self.fin_queued {
            return Err(SendError::Closed);
        }
        let n = self.send.write(data, self.config.send_buffer as usize);
        if n == 0 && !data.is_empty() {
            return Err(SendError::WouldBlock);
        }
        Ok(n)
    }

    /// Reads received bytes into `buf`. `Ok(Some(n))` with `n > 0` gives data, `Ok(None)`
    /// means the peer closed and everything was read (end of stream).
    pub fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, RecvError> {
        if self.recv.len() == 0 {
            return self.recv_nothing();
        }
        let n = self.recv.read(buf);
        self.after_read();
        Ok(Some(n))
    }

    /// [`recv`](Self::recv) in place, without a copy: `f` is shown the first contiguous
    /// run of received bytes (in the receive buffer itself) and returns how many it
    /// consumed (more than it was shown counts as all). `Ok(Some(n))` is what `f`
    /// consumed; `f` is called only when there are bytes, so `Ok(None)` (end of stream)
    /// and errors are as for `recv`. What is left, and what comes after the buffer's wrap,
    /// is there for the next call.
    pub fn recv_with(
        &mut self,
        f: impl FnOnce(&[u8]) -> usize,
    ) -> Result<Option<usize>, RecvError> {
        if self.recv.len() == 0 {
            return self.recv_nothing();
        }
        let front = self.recv.front();
        let n = f(front).min(front.len());
        self.recv.consume(n);
        self.after_read();
        Ok(Some(n))
    }

    /// What a read finds when no byte waits: end of stream, the reason the connection
    /// ended, or "would block".
    fn recv_nothing(&self) -> Result<Option<usize>, RecvError> {
        if self.fin_received {
            return Ok(None);
        }
        match self.close_reason {
            Some(CloseReason::Closed) => Ok(None),
            Some(r) => Err(RecvError::ConnectionLost(r)),
            None => Err(RecvError::WouldBlock),
        }
    }

    /// After the application took bytes.
    fn after_read(&mut self) {
        // Window update (RFC 9293 §3.8.6.2.2, receiver-side SWS avoidance): tell the peer
        // once the window can grow by min(buffer/2, MSS).
        let edge = self.rcv_nxt + self.free_window() as usize;
        let grow = (edge - self.rcv_adv).max(0) as u32;
        let threshold = (self.config.recv_buffer / 2).min(u32::from(self.config.mss));
        if self.state.is_synchronized() && grow >= threshold {
            self.ack_now = true;
        }
    }

    /// Closes the write side: FIN goes after the queued data. Reading may continue until
    /// the peer's FIN.
    pub fn close(&mut self, now: Instant) -> Result<(), CloseError> {
        if self.fin_queued || self.close_reason.is_some() {
            return Err(CloseError::AlreadyClosed);
        }
        self.fin_queued = true;
        match self.state {
            State::SynSent => self.finish(now, CloseReason::Closed),
            State::Established => self.state = State::FinWait1,
            State::CloseWait => self.state = State::LastAck,
            // SYN-RECEIVED: FIN waits until the handshake completes.
            _ => {}
        }
        Ok(())
    }

    /// Aborts: a RST goes out (when synchronized) and the connection is closed at once.
    pub fn abort(&mut self, now: Instant) {
        if self.close_reason.is_some() {
            return;
        }
        if matches!(self.state, State::SynReceived) || self.state.is_synchronized() {
            self.rst_pending = true;
        }
        self.finish(now, CloseReason::Aborted);
    }

    /// The next application event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        for bit in [ev::CONNECTED, ev::READABLE, ev::WRITABLE, ev::CLOSED] {
            if self.events & bit != 0 {
                self.events &= !bit;
                return Some(match bit {
                    ev::CONNECTED => Event::Connected,
                    ev::READABLE => Event::Readable,
                    ev::WRITABLE => Event::Writable,
                    _ => Event::Closed(self.close_reason.unwrap_or(CloseReason::Closed)),
                });
            }
        }
        None
    }

    fn finish(&mut self, _now: Instant, reason: CloseReason) {
        self.state = State::Closed;
        self.close_reason = Some(reason);
        self.events |= ev::CLOSED;
        if reason != CloseReason::Closed {
            self.events |= ev::READABLE | ev::WRITABLE;
        }
        self.rto_at = None;
        self.delack_at = None;
        self.persist_at = None;
        self.time_wait_at = None;
        self.keepalive_at = None;
        self.ack_now = false;
        self.recovery = None;
        self.scoreboard.clear();
        self.syn_pending = false;
        self.rtx_at = None;
        // Buffers are freed now: a closed connection holds nothing.
        self.send = SendBuffer::new(self.send.end());
        self.recv = RecvBuffer::default();
    }

    fn enter_time_wait(&mut self, now: Instant) {
        self.state = State::TimeWait;
        self.rto_at = None;
        self.persist_at = None;
        self.keepalive_at = None;
        self.time_wait_at = Some(now + self.config.time_wait);
    }

    fn establish(&mut self, now: Instant) {
        self.state = if self.fin_queued {
            State::FinWait1
        } else {
            State::Established
        };
        self.events |= ev::CONNECTED | ev::WRITABLE;
        if let Some(ka) = self.keepalive {
            self.keepalive_at = Some(now + ka.idle);
        }
    }

    // ----- timers ---------------------------------------------------------------------

    /// The earliest instant at which [`handle_timeout`](Self::handle_timeout) must run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        // Called after every input and output: a plain fold (`None` above every instant)
        // rather than an iterator over the options.
        let min = |a: Option<Instant>, b: Option<Instant>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        min(
            min(
                min(self.rto_at, self.delack_at),
                min(self.persist_at, self.time_wait_at),
            ),
            self.keepalive_at,
        )
    }

    /// Runs every timer due at `now`: TIME-WAIT expiry, delayed ACK, zero-window probe
    /// (persist), keep-alive and retransmission timeout (RFC 6298 §5.4–5.6, with backoff).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.time_wait_at.is_some_and(|t| t <= now) {
            self.time_wait_at = None;
            self.finish(now, CloseReason::Closed);
            return;
        }
        if self.delack_at.is_some_and(|t| t <= now) {
            self.delack_at = None;
            self.ack_now = true;
        }
        if self.persist_at.is_some_and(|t| t <= now) {
            self.persist_at = None;
            self.on_persist(now);
            if self.close_reason.is_some() {
                return;
            }
        }
        if self.keepalive_at.is_some_and(|t| t <= now) {
            self.keepalive_at = None;
            self.on_keepalive(now);
            if self.close_reason.is_some() {
                return;
            }
        }
        if self.rto_at.is_some_and(|t| t <= now) {
            self.rto_at = None;
            self.on_rto(now);
        }
    }

    /// The persist interval: the RTO doubled per probe already sent, at most `max_rto`.
    fn persist_interval(&self) -> Instant {
        let shift = u32::from(self.persist_backoff.min(32));
        self.rtt
            .rto(self.config.max_rto)
            .saturating_mul(1u64 << shift)
            .min(self.config.max_rto)
    }

    /// The persist timer fired: probe the zero window (RFC 9293 §3.8.6.1). As Linux does
    /// when nothing fits the window, the probe is an ACK at SND.UNA − 1, which the peer
    /// must answer with its current window. Probing goes on while the peer answers; after
    /// `max_retransmits` unanswered probes the connection times out.
    fn on_persist(&mut self, now: Instant) {
        if self.snd_wnd != 0 || self.send.available(self.snd_nxt) == 0 {
            self.persist_backoff = 0;
            return;
        }
        self.probes_out = self.probes_out.saturating_add(1);
        if self.probes_out > self.config.max_retransmits {
            self.finish(now, CloseReason::TimedOut);
            return;
        }
        self.probe_pending = true;
        self.stats.window_probes += 1;
        self.persist_backoff = self.persist_backoff.saturating_add(1);
        self.persist_at = Some(now + self.persist_interval());
    }

    /// The keep-alive timer fired (RFC 9293 §3.8.4): probe after `idle` without hearing
    /// from the peer, every `interval`, and give up after `count` unanswered probes.
    fn on_keepalive(&mut self, now: Instant) {
        let Some(ka) = self.keepalive else {
            return;
        };
        if !self.keepalive_state() {
            return;
        }
        let quiet_until = self.last_rcv + ka.idle;
        if now < quiet_until {
            // Heard from the peer since: start over.
            self.ka_probes = 0;
            self.keepalive_at = Some(quiet_until);
            return;
        }
        if self.snd_una != self.snd_max || self.send.len() > 0 {
            // Data outstanding: the RTO or persist timer is watching the peer.
            self.keepalive_at = Some(now + ka.idle);
            return;
        }
        if self.ka_probes >= ka.count {
            self.finish(now, CloseReason::TimedOut);
            return;
        }
        self.ka_probes += 1;
        self.probe_pending = true;
        self.stats.keepalive_probes += 1;
        self.keepalive_at = Some(now + ka.interval);
    }

    fn on_rto(&mut self, now: Instant) {
        self.stats.timeouts += 1;
        self.retries = self.retries.saturating_add(1);
        if self.retries > self.config.max_retransmits {
            self.finish(now, CloseReason::TimedOut);
            return;
        }
        self.rtt.back_off();
        let mss = u32::from(self.snd_mss);
        let flight = (self.snd_max - self.snd_una) as u32;
        if self.state.is_synchronized() {
            self.cc.on_rto(flight, mss);
        }
        self.recovery = None;
        self.recover = self.snd_max;
        self.dup_acks = 0;
        self.rtx_at = None;
        // RFC 2018 §8: after a timeout, forget SACK information (the receiver may renege).
        self.scoreboard.clear();
        self.high_rxt = self.snd_una;
        // Karn: nothing sent from now until new data is timed.
        self.rtt_sample = None;
        // Go back: resend from SND.UNA (RFC 9293 §3.8.1; RFC 6298 §5.4).
        self.snd_nxt = self.snd_una;
        if matches!(self.state, State::SynSent | State::SynReceived) {
            self.syn_pending = true;
        }
    }

    fn arm_rto(&mut self, now: Instant) {
        if self.rto_at.is_none() {
            self.rto_at = Some(now + self.rtt.rto(self.config.max_rto));
        }
    }

    fn ts_now(&self, now: Instant) -> u32 {
        ((now / MILLIS) as u32).wrapping_add(self.ts_offset)
    }

    fn challenge_ack(&mut self, now: Instant) {
        if now.saturating_sub(self.challenge_window) >= SECONDS {
            self.challenge_window = now;
            self.challenge_count = 0;
        }
        if self.challenge_count < self.config.challenge_ack_limit {
            self.challenge_count += 1;
            self.stats.challenge_acks += 1;
            self.ack_now = true;
        }
    }

    fn free_window(&self) -> u32 {
        self.config
            .recv_buffer
            .saturating_sub(self.recv.len() as u32)
    }
}

mod input;
mod output;
mod pmtu;
mod sack;
