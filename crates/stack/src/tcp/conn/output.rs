//! Segment departure: SYN, SYN-ACK, retransmissions, new data and FIN, ACKs, RST.

use wire::tcp::{TcpFlags, TcpRepr, TcpSeqNumber as Seq};

use super::{Connection, State};
use crate::Instant;

impl Connection {
    /// The next segment to send, if any. Its payload (`repr.payload_len` bytes) is written
    /// to `buf`, which is cleared first. Call until `None` after every input; each call
    /// may also arm timers, so re-read [`poll_timeout`](Self::poll_timeout) afterwards.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<TcpRepr> {
        buf.clear();
        let mut r = TcpRepr::default();
        if !self.poll_segment(now, &mut r) {
            return None;
        }
        let (a, b) = self.segment_payload(r.seq_number, r.payload_len);
        buf.extend_from_slice(a);
        buf.extend_from_slice(b);
        Some(r)
    }

    /// [`poll_transmit`](Self::poll_transmit) without the copy: the payload stays in the
    /// send buffer, where [`segment_payload`](Self::segment_payload) finds it until the
    /// next call that changes the connection. The IP layer copies it from there straight
    /// into the frame, summing it on the way (one copy and no separate checksum pass
    /// instead of two copies and a pass).
    ///
    /// The header is written into `out` (true: a segment; false: `out` unspecified).
    /// Returned by value through the layers (segment, send, next, poll, endpoint), each
    /// layer copied the `TcpRepr` its callee had just filled field by field, with 16-byte
    /// loads over narrower stores: a store-forwarding stall per copy and per segment
    /// (perf annotate: 2.6% of tcp-bulk-memory's time on the first copy alone, and the
    /// stall moved to the next copy when that one was removed).
    pub(crate) fn poll_segment(&mut self, now: Instant, out: &mut TcpRepr) -> bool {
        // Every test checks `may_transmit` against what was sent (debug builds only).
        let may = cfg!(debug_assertions) && self.may_transmit();
        let sent = self.next_segment(now, out);
        debug_assert!(
            !sent || may,
            "may_transmit said nothing to send, then {out:?} was sent"
        );
        sent
    }

    /// The payload of a segment [`poll_segment`](Self::poll_segment) returned: `len`
    /// bytes from `seq`, as two slices (the send buffer is a ring). Every segment with a
    /// payload carries send-buffer bytes from its sequence number on; `len` beyond what
    /// the buffer holds gives what it holds (never panics).
    pub(crate) fn segment_payload(&self, seq: Seq, len: usize) -> (&[u8], &[u8]) {
        self.send.slices(seq, len)
    }

    fn next_segment(&mut self, now: Instant, out: &mut TcpRepr) -> bool {
        if let Some(seq) = self.rst_reply.take() {
            self.bare(seq, TcpFlags::RST, out);
            return true;
        }
        if self.rst_pending {
            self.rst_pending = false;
            self.build(now, self.snd_nxt, TcpFlags::RST | TcpFlags::ACK, 0, out);
            out.timestamp = None;
            return true;
        }
        match self.state {
            State::Closed | State::Listen => return false,
            State::SynSent => {
                if !self.syn_pending {
                    return false;
                }
                self.send_syn(now, TcpFlags::SYN, out);
                return true;
            }
            State::SynReceived => {
                if !(self.syn_pending || self.ack_now) {
                    return false;
                }
                self.send_syn(now, TcpFlags::SYN | TcpFlags::ACK, out);
                return true;
            }
            _ => {}
        }
        if self.probe_pending {
            // Zero-window or keep-alive probe: an old sequence number (SND.UNA − 1) the
            // peer must answer with an ACK (RFC 9293 §3.8.4, §3.8.6.1).
            self.probe_pending = false;
            self.build(now, self.snd_una - 1, TcpFlags::ACK, 0, out);
            return true;
        }
        if let Some(seq) = self.rtx_at.take() {
            if seq >= self.snd_una && seq < self.snd_max {
                // Fast retransmit ignores the congestion window (RFC 5681 §3.2 step 4;
                // RFC 6675 §5 step 4.3), and never resends SACKed bytes.
                let room = self.scoreboard.gap_after(seq).unwrap_or(usize::MAX);
                if self.segment_at(now, seq, room, out) {
                    if self.in_sack_recovery() {
                        let fin = usize::from(out.flags.contains(TcpFlags::FIN));
                        self.high_rxt = self.high_rxt.max(seq + (out.payload_len + fin));
                    }
                    return true;
                }
            }
        }
        if self.in_sack_recovery() {
            if self.sack_transmit(now, out) {
                return true;
            }
        } else if self.send_new(now, out) {
            return true;
        }
        if self.ack_now {
            self.build(now, self.snd_nxt, TcpFlags::ACK, 0, out);
            return true;
        }
        false
    }

    /// False only when [`poll_transmit`](Self::poll_transmit) would return `None` now (a
    /// conservative check: true may still find nothing to send). The endpoint uses it to
    /// take a connection off its output queue after its last segment, instead of polling
    /// it once more to learn that.
    ///
    /// Unsent data is looked at first: during a bulk transfer it is almost always there,
    /// and the flags behind it were just written one byte at a time by the segment's
    /// `build` (LLVM reads four of them with one 4-byte load, which cannot be forwarded
    /// from those stores: a stall of ~4% of tcp-bulk-memory's time, perf annotate).
    pub fn may_transmit(&self) -> bool {
        self.send.available(self.snd_nxt) > 0
            || self.rst_reply.is_some()
            || self.rst_pending
            || self.syn_pending
            || self.ack_now
            || self.probe_pending
            || self.rtx_at.is_some()
            || self.in_sack_recovery()
            || (self.fin_queued && self.snd_nxt == self.send.end())
    }

    fn send_syn(&mut self, now: Instant, flags: TcpFlags, out: &mut TcpRepr) {
        self.syn_pending = false;
        let rtx = self.snd_max != self.iss;
        self.build(now, self.iss, flags, 0, out);
        self.snd_nxt = self.iss + 1;
        if rtx {
            self.stats.retransmits += 1;
            self.rtt_sample = None;
        } else {
            self.snd_max = self.snd_nxt;
            self.rtt_sample = Some((self.snd_nxt, now));
        }
        self.arm_rto(now);
    }

    /// New data (and FIN) at SND.NXT within min(cwnd, SND.WND).
    // `send_new`, `segment_at` and `build` are inlined into the send path: three calls
    // per segment, each spilling and reloading the connection's fields, cost 1% of
    // tcp-bulk-memory (median of 10: 45.47 -> 46.04 Gbit/s inlined).
    #[inline(always)]
    fn send_new(&mut self, now: Instant, out: &mut TcpRepr) -> bool {
        let flight = (self.snd_nxt - self.snd_una).max(0) as usize;
        let wnd = self.snd_wnd.min(self.cc.cwnd) as usize;
        let room = wnd.saturating_sub(flight);
        let avail = self.send.available(self.snd_nxt);
        if self.config.nagle
            && avail < usize::from(self.snd_mss)
            && avail <= room
            && flight > 0
            && !self.fin_queued
        {
            return false;
        }
        let sent = self.send_at_nxt(now, room, out);
        if !sent && avail > 0 && self.snd_wnd == 0 && flight == 0 && self.persist_at.is_none() {
            // Data waits on a zero window with nothing in flight: probe later, backing
            // off (RFC 9293 §3.8.6.1).
            self.persist_backoff = 0;
            self.persist_at = Some(now + self.persist_interval());
        }
        sent
    }

    /// Data (and FIN) at SND.NXT, at most `room` bytes; SND.NXT moves past it.
    pub(super) fn send_at_nxt(&mut self, now: Instant, room: usize, out: &mut TcpRepr) -> bool {
        if !self.segment_at(now, self.snd_nxt, room, out) {
            return false;
        }
        let fin = usize::from(out.flags.contains(TcpFlags::FIN));
        self.snd_nxt += out.payload_len + fin;
        true
    }

    /// A data/FIN segment at `seq` of at most `room` bytes (and one MSS); its payload is
    /// what the send buffer holds from `seq` on ([`segment_payload`](Self::segment_payload)).
    #[inline(always)]
    pub(super) fn segment_at(
        &mut self,
        now: Instant,
        seq: Seq,
        room: usize,
        out: &mut TcpRepr,
    ) -> bool {
        let data_end = self.send.end();
        let avail = self.send.available(seq);
        // SACK blocks ride in the header and take room from the payload.
        let mss = usize::from(self.snd_mss)
            .saturating_sub(self.sack_option_len())
            .max(1);
        let len = avail.min(room).min(mss);
        let fin_state = matches!(
            self.state,
            State::FinWait1 | State::Closing | State::LastAck
        );
        let fin = self.fin_queued && fin_state && seq + len == data_end;
        if len == 0 && !fin {
            return false;
        }
        let mut flags = TcpFlags::ACK;
        if fin {
            flags |= TcpFlags::FIN;
        }
        if len > 0 && seq + len == data_end {
            flags |= TcpFlags::PSH;
        }
        let end = seq + len + usize::from(fin);
        if seq < self.snd_max {
            // Karn (RFC 6298 §3): a retransmission spoils the timed segment.
            self.stats.retransmits += 1;
            self.rtt_sample = None;
        } else if self.rtt_sample.is_none() {
            self.rtt_sample = Some((end, now));
        }
        if end > self.snd_max {
            self.snd_max = end;
        }
        self.arm_rto(now);
        self.build(now, seq, flags, len, out);
        true
    }

    /// A RST with no ACK, for a segment that does not belong (RFC 9293 §3.10.7.3).
    fn bare(&self, seq: Seq, flags: TcpFlags, out: &mut TcpRepr) {
        *out = TcpRepr {
            src_port: self.tuple.local.port(),
            dst_port: self.tuple.remote.port(),
            seq_number: seq,
            flags,
            ..TcpRepr::default()
        };
    }

    /// Fills the header of an outgoing segment: ACK, window, options.
    #[inline(always)]
    fn build(&mut self, now: Instant, seq: Seq, flags: TcpFlags, len: usize, r: &mut TcpRepr) {
        let syn = flags.contains(TcpFlags::SYN);
        self.bare(seq, flags, r);
        r.payload_len = len;
        let has_ack = flags.contains(TcpFlags::ACK);
        if has_ack {
            r.ack_number = self.rcv_nxt;
        }
        let free = self.free_window();
        let shift = if syn { 0 } else { self.rcv_wscale };
        // Never move the right edge left (RFC 9293 §3.8.6.2.1).
        let promised = (self.rcv_adv - self.rcv_nxt).max(0) as u32;
        let wnd = (free.max(promised) >> shift).min(0xffff);
        r.window_len = wnd as u16;
        let edge = self.rcv_nxt + ((wnd << shift) as usize);
        if edge > self.rcv_adv || !self.state.is_synchronized() {
            self.rcv_adv = edge;
        }
        if syn {
            r.max_seg_size = Some(self.config.mss);
            let offer = self.state == State::SynSent;
            if (offer && self.config.window_scaling) || self.ws_enabled {
                r.window_scale = Some(self.rcv_wscale);
            }
            if (offer && self.config.timestamps) || self.ts_enabled {
                let ecr = if has_ack { self.ts_recent } else { 0 };
                r.timestamp = Some((self.ts_now(now), ecr));
            }
            r.sack_permitted = (offer && self.config.sack) || self.sack_enabled;
        } else {
            if self.ts_enabled {
                r.timestamp = Some((self.ts_now(now), self.ts_recent));
            }
            if has_ack && self.sack_enabled && self.recv.ooo_ranges() > 0 {
                r.sack_ranges = self.sack_blocks();
            }
        }
        if has_ack {
            self.last_ack_sent = self.rcv_nxt;
            self.ack_now = false;
            self.delack_at = None;
            self.segs_unacked = 0;
        }
        self.stats.segments_sent = self.stats.segments_sent.wrapping_add(1);
    }
}
