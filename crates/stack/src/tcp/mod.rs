//! TCP (RFC 9293): one connection's state machine and its parts.
//!
//! * [`Connection`] (conn.rs): states, segment processing, output, timers;
//! * `send.rs`: the send buffer (bytes from SND.UNA on) and the loss-recovery state;
//! * `recv.rs`: the receive buffer and the bounded out-of-order queue;
//! * `sack.rs`: the sender's SACK scoreboard (RFC 2018, RFC 6675's IsLost/pipe/NextSeg
//!   inputs); `conn/sack.rs`: SACK blocks out, SACK-based loss recovery;
//! * `rtt.rs`: the RFC 6298 estimator; `cc.rs`: CUBIC (RFC 9438) and NewReno (RFC 5681,
//!   RFC 6582).

mod cc;
mod conn;
mod recv;
mod rtt;
mod sack;
mod send;

pub use cc::CongestionControl;
pub use conn::{Connection, ConnectionStats, State};

/// Keep-alive settings (RFC 9293 §3.8.4; Linux's `TCP_KEEPIDLE`, `TCP_KEEPINTVL`,
/// `TCP_KEEPCNT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepAlive {
    /// Quiet time (nothing received, nothing outstanding) before the first probe.
    pub idle: Instant,
    /// Time between unanswered probes.
    pub interval: Instant,
    /// Unanswered probes before the connection is abandoned ([`CloseReason::TimedOut`]).
    pub count: u8,
}

impl Default for KeepAlive {
    /// Linux's defaults: 2 hours, 75 s, 9 probes.
    fn default() -> Self {
        KeepAlive {
            idle: 7200 * SECONDS,
            interval: 75 * SECONDS,
            count: 9,
        }
    }
}

use crate::{Instant, MILLIS, SECONDS};

/// Settings shared by every connection of an endpoint (held behind an `Arc`).
#[derive(Debug, Clone)]
pub struct TcpConfig {
    /// The MSS we announce and the largest payload we send (default 1460).
    pub mss: u16,
    /// Bytes the application may queue for sending (default 256 KiB).
    pub send_buffer: u32,
    /// Bytes received and not yet read, which bounds the advertised window (default 256 KiB).
    pub recv_buffer: u32,
    /// Offer window scaling (RFC 7323 §2). Default on.
    pub window_scaling: bool,
    /// Offer timestamps and enforce PAWS (RFC 7323 §3, §5). Default on.
    pub timestamps: bool,
    /// Delay ACKs of in-order data by at most this long (RFC 9293 §3.8.6.3); `None` ACKs
    /// every segment at once. Default 40 ms.
    pub delayed_ack: Option<Instant>,
    /// Nagle's algorithm (RFC 9293 §3.7.4): hold back small segments while data is in
    /// flight. Default off (`TCP_NODELAY`).
    pub nagle: bool,
    /// RTO before any RTT sample (RFC 6298 §2.1: 1 s).
    pub initial_rto: Instant,
    /// Lower bound of the RTO (RFC 6298 says 1 s; Linux uses 200 ms, the default here).
    pub min_rto: Instant,
    /// Upper bound of the RTO after backoff (default 60 s).
    pub max_rto: Instant,
    /// Consecutive RTO expiries before the connection is abandoned (default 12).
    pub max_retransmits: u8,
    /// How long TIME-WAIT lasts, 2×MSL (default 60 s).
    pub time_wait: Instant,
    /// Out-of-order ranges held at most; a segment that would need more is dropped
    /// (default 64).
    pub max_ooo_ranges: usize,
    /// Challenge ACKs sent per second at most (RFC 5961 §7; default 10).
    pub challenge_ack_limit: u16,
    /// Offer and accept SACK (RFC 2018) and recover losses with it (RFC 6675). Default on.
    pub sack: bool,
    /// Congestion control for new connections (default CUBIC); a connection can switch
    /// with [`Connection::set_congestion_control`].
    pub congestion_control: CongestionControl,
    /// Keep-alive for new connections (default off); per connection with
    /// [`Connection::set_keepalive`].
    pub keepalive: Option<KeepAlive>,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            mss: 1460,
            send_buffer: 256 * 1024,
            recv_buffer: 256 * 1024,
            window_scaling: true,
            timestamps: true,
            delayed_ack: Some(40 * MILLIS),
            nagle: false,
            initial_rto: SECONDS,
            min_rto: 200 * MILLIS,
            max_rto: 60 * SECONDS,
            max_retransmits: 12,
            time_wait: 60 * SECONDS,
            max_ooo_ranges: 64,
            challenge_ack_limit: 10,
            sack: true,
            congestion_control: CongestionControl::Cubic,
            keepalive: None,
        }
    }
}

/// Something that changed on a connection, for the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The handshake completed (ESTABLISHED).
    Connected,
    /// Data (or the peer's FIN) can be read.
    Readable,
    /// Send-buffer space was freed.
    Writable,
    /// The connection is gone; no more segments will be sent for it.
    Closed(CloseReason),
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// Both sides closed cleanly (after TIME-WAIT or LAST-ACK).
    Closed,
    /// The peer sent an acceptable RST.
    Reset,
    /// A RST answered our SYN.
    Refused,
    /// Retransmissions went unanswered [`TcpConfig::max_retransmits`] times.
    TimedOut,
    /// The application aborted it (we sent RST).
    Aborted,
}

/// Why [`Connection::send`] did not take bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The send buffer is full: wait for [`Event::Writable`].
    #[error("send buffer full")]
    WouldBlock,
    /// [`Connection::close`] was called: the write side is shut.
    #[error("connection closed for writing")]
    Closed,
    /// The connection ended.
    #[error("connection lost: {0:?}")]
    ConnectionLost(CloseReason),
}

/// Why [`Connection::recv`] returned no bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecvError {
    /// Nothing to read yet: wait for [`Event::Readable`].
    #[error("no data to read")]
    WouldBlock,
    /// The connection ended abnormally before the peer's FIN.
    #[error("connection lost: {0:?}")]
    ConnectionLost(CloseReason),
}

/// Why [`Connection::close`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CloseError {
    /// Already closed for writing.
    #[error("already closed")]
    AlreadyClosed,
}
