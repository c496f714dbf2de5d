//! Segment arrival: RFC 9293 §3.10.7, with RFC 7323 PAWS and RFC 5961 checks.

use wire::tcp::{TcpFlags, TcpRepr, TcpSeqNumber as Seq};

use super::{ev, CloseReason, Connection, State};
use crate::Instant;

/// `a < b` in 32-bit serial arithmetic (timestamps).
fn ts_before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl Connection {
    /// Processes one segment of this connection's 4-tuple. `seg.payload_len` must equal
    /// `payload.len()`; the checksum must have been checked (by [`wire`] or the NIC).
    ///
    /// Never panics, whatever the segment. Unacceptable segments are dropped (answered
    /// with an ACK where RFC 9293 says so).
    pub fn handle_segment(&mut self, now: Instant, seg: &TcpRepr, payload: &[u8]) {
        self.stats.segments_received = self.stats.segments_received.wrapping_add(1);
        self.last_rcv = now;
        match self.state {
            State::Closed | State::Listen => {}
            State::SynSent => self.on_syn_sent(now, seg),
            _ => self.on_synchronized(now, seg, payload),
        }
    }

    /// RFC 9293 §3.10.7.3.
    fn on_syn_sent(&mut self, now: Instant, seg: &TcpRepr) {
        let f = seg.flags;
        let has_ack = f.contains(TcpFlags::ACK);
        if has_ack && (seg.ack_number <= self.iss || seg.ack_number > self.snd_max) {
            // Not for our SYN: a RST answers unless it is one (seq = SEG.ACK).
            if !f.contains(TcpFlags::RST) {
                self.rst_reply = Some(seg.ack_number);
            }
            return;
        }
        if f.contains(TcpFlags::RST) {
            // RFC 5961 §3.2: in SYN-SENT a RST counts only with an acceptable ACK.
            if has_ack {
                self.finish(now, CloseReason::Refused);
            }
            return;
        }
        if !f.contains(TcpFlags::SYN) {
            return;
        }
        self.take_syn_options(seg);
        self.irs = seg.seq_number;
        self.rcv_nxt = seg.seq_number + 1;
        self.rcv_adv = self.rcv_nxt;
        self.last_ack_sent = self.rcv_nxt;
        self.snd_wnd = u32::from(seg.window_len);
        self.max_snd_wnd = self.snd_wnd;
        self.snd_wl1 = seg.seq_number;
        self.snd_wl2 = seg.ack_number;
        if has_ack {
            self.on_new_ack(now, seg.ack_number);
            self.establish(now);
            self.ack_now = true;
        } else {
            // Simultaneous open: SYN-ACK from SYN-RECEIVED.
            self.state = State::SynReceived;
            self.snd_nxt = self.iss;
            self.syn_pending = true;
        }
    }

    fn seg_len(seg: &TcpRepr, payload: &[u8]) -> usize {
        payload.len()
            + usize::from(seg.flags.contains(TcpFlags::SYN))
            + usize::from(seg.flags.contains(TcpFlags::FIN))
    }

    /// The acceptability test of RFC 9293 §3.10.7.4 (the table of four cases).
    fn acceptable(&self, seg: &TcpRepr, len: usize) -> bool {
        let wnd = (self.rcv_adv - self.rcv_nxt).max(0) as usize;
        let seq = seg.seq_number;
        let in_wnd = |s: Seq| s >= self.rcv_nxt && s < self.rcv_nxt + wnd;
        match (len, wnd) {
            (0, 0) => seq == self.rcv_nxt,
            (0, _) => in_wnd(seq),
            (_, 0) => false,
            _ => in_wnd(seq) || in_wnd(seq + (len - 1)),
        }
    }

    fn on_synchronized(&mut self, now: Instant, seg: &TcpRepr, payload: &[u8]) {
        let f = seg.flags;
        let rst = f.contains(TcpFlags::RST);

        // PAWS (RFC 7323 §5.3), before the window test.
        if self.ts_enabled && !rst {
            match seg.timestamp {
                // RFC 7323 §3.2: a non-RST segment without TSopt is dropped.
                None => return,
                Some((tsval, _)) if ts_before(tsval, self.ts_recent) => {
                    self.stats.paws_rejected += 1;
                    self.ack_now = true;
                    return;
                }
                Some(_) => {}
            }
        }

        // First: sequence number (acceptability).
        let len = Self::seg_len(seg, payload);
        if !self.acceptable(seg, len) {
            self.stats.unacceptable += 1;
            if !rst {
                self.ack_now = true;
                if self.state == State::TimeWait && f.contains(TcpFlags::FIN) {
                    self.time_wait_at = Some(now + self.config.time_wait);
                }
            }
            return;
        }

        // Second: RST (RFC 5961 §3.2): exact match resets, in-window gets a challenge ACK.
        if rst {
            if seg.seq_number == self.rcv_nxt {
                self.finish(now, CloseReason::Reset);
            } else {
                self.challenge_ack(now);
            }
            return;
        }

        // TS.Recent (RFC 7323 §4.3): segment covers Last.ACK.sent.
        if let Some((tsval, _)) = seg.timestamp {
            if self.ts_enabled
                && !ts_before(tsval, self.ts_recent)
                && seg.seq_number <= self.last_ack_sent
            {
                self.ts_recent = tsval;
            }
        }

        // Fourth: SYN in a synchronized state or SYN-RECEIVED (RFC 5961 §4.2).
        if f.contains(TcpFlags::SYN) {
            self.challenge_ack(now);
            return;
        }

        // Fifth: ACK.
        if !f.contains(TcpFlags::ACK) {
            return;
        }
        let ack = seg.ack_number;
        if self.state == State::SynReceived {
            if ack > self.snd_una && ack <= self.snd_max {
                self.snd_wnd = u32::from(seg.window_len) << self.snd_wscale;
                self.max_snd_wnd = self.snd_wnd;
                self.snd_wl1 = seg.seq_number;
                self.snd_wl2 = ack;
                self.establish(now);
            } else {
                self.rst_reply = Some(ack);
                return;
            }
        }
        // RFC 5961 §5.2: acceptable if SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT.
        if ack > self.snd_max {
            self.ack_now = true;
            return;
        }
        if ack < self.snd_una - self.max_snd_wnd.max(1) as usize {
            self.challenge_ack(now);
            return;
        }
        // Any acceptable ACK answers the zero-window probes.
        self.probes_out = 0;
        let new_sack =
            self.sack_enabled && seg.sack_ranges[0].is_some() && self.take_sack_blocks(seg, ack);
        let wnd = u32::from(seg.window_len) << self.snd_wscale;
        let classic_dup = ack == self.snd_una
            && self.snd_max > self.snd_una
            && payload.is_empty()
            && !f.contains(TcpFlags::FIN)
            && wnd == self.snd_wnd;
        if ack > self.snd_una {
            self.on_new_ack(now, ack);
        }
        // RFC 6675 §2, §5: an ACK bringing new SACK information counts as a duplicate,
        // even when it also advances SND.UNA.
        if classic_dup || (new_sack && self.snd_max > self.snd_una) {
            self.on_dup_ack();
        }
        // Window update (SND.WL1/SND.WL2 rule).
        if self.snd_wl1 < seg.seq_number || (self.snd_wl1 == seg.seq_number && self.snd_wl2 <= ack)
        {
            self.snd_wnd = wnd;
            self.max_snd_wnd = self.max_snd_wnd.max(wnd);
            self.snd_wl1 = seg.seq_number;
            self.snd_wl2 = ack;
            if wnd > 0 {
                self.persist_at = None;
                self.persist_backoff = 0;
            }
        }
        if self.close_reason.is_some() {
            return;
        }
        // Our FIN acknowledged?
        let fin_acked = self.fin_queued && self.snd_una == self.send.end() + 1;
        if fin_acked {
            match self.state {
                State::FinWait1 => self.state = State::FinWait2,
                State::Closing => self.enter_time_wait(now),
                State::LastAck => {
                    self.finish(now, CloseReason::Closed);
                    return;
                }
                _ => {}
            }
        }

        // Seventh: text.
        if !payload.is_empty()
            && matches!(
                self.state,
                State::Established | State::FinWait1 | State::FinWait2
            )
        {
            let wnd_end = self.rcv_adv;
            let r = self.recv.insert(
                &mut self.rcv_nxt,
                wnd_end,
                seg.seq_number,
                payload,
                self.config.max_ooo_ranges,
            );
            if r.dropped {
                self.stats.ooo_dropped += 1;
            } else if r.out_of_order && self.sack_enabled {
                self.note_sack_anchor(seg.seq_number.max(self.rcv_nxt));
            }
            if r.advanced > 0 {
                self.events |= ev::READABLE;
                if self.recv.ooo_ranges() > 0 || r.out_of_order {
                    self.ack_now = true;
                } else {
                    self.schedule_ack(now, payload.len());
                }
            }
            if r.out_of_order || r.duplicate || r.dropped {
                // Out of order or old: ACK at once (RFC 5681 §4.2) so the sender sees dups.
                self.ack_now = true;
            }
            // Filling a gap: ACK at once as well.
            if r.advanced > payload.len() {
                self.ack_now = true;
            }
        }

        // Eighth: FIN, once everything before it has arrived.
        if f.contains(TcpFlags::FIN) && seg.seq_number + payload.len() == self.rcv_nxt {
            self.on_fin(now);
        }
    }

    fn schedule_ack(&mut self, now: Instant, len: usize) {
        self.segs_unacked = self.segs_unacked.saturating_add(1);
        match self.config.delayed_ack {
            // ACK at least every second full-sized segment (RFC 9293 §3.8.6.3).
            Some(d) if self.segs_unacked < 2 || len < usize::from(self.snd_mss) / 2 => {
                if self.segs_unacked >= 2 {
                    self.ack_now = true;
                } else if self.delack_at.is_none() {
                    self.delack_at = Some(now + d);
                }
            }
            _ => self.ack_now = true,
        }
    }

    fn on_fin(&mut self, now: Instant) {
        if self.fin_received {
            // Retransmitted FIN: re-ACK; in TIME-WAIT restart the 2MSL timer.
            self.ack_now = true;
            if self.state == State::TimeWait {
                self.time_wait_at = Some(now + self.config.time_wait);
            }
            return;
        }
        self.fin_received = true;
        self.rcv_nxt += 1;
        self.ack_now = true;
        self.events |= ev::READABLE;
        match self.state {
            State::SynReceived | State::Established => self.state = State::CloseWait,
            State::FinWait1 => {
                if self.snd_una == self.send.end() + 1 {
                    self.enter_time_wait(now);
                } else {
                    self.state = State::Closing;
                }
            }
            State::FinWait2 => self.enter_time_wait(now),
            _ => {}
        }
    }

    fn on_dup_ack(&mut self) {
        let mss = u32::from(self.snd_mss);
        self.dup_acks = self.dup_acks.saturating_add(1);
        if self.sack_enabled {
            let first_lost = self
                .scoreboard
                .lost_edge(usize::from(self.snd_mss))
                .is_some_and(|e| e > self.snd_una);
            if self.recovery.is_none()
                && (self.dup_acks >= 3 || first_lost)
                && self.snd_una > self.recover
            {
                self.enter_sack_recovery();
            }
            return;
        }
        if self.recovery.is_some() {
            self.cc.on_dup_ack_in_recovery(mss);
        } else if self.dup_acks == 3 && self.snd_una > self.recover {
            // RFC 6582 §3.2 step 2: only when SND.UNA - 1 covers `recover`, which keeps
            // a second recovery from starting on the same loss episode.
            let flight = (self.snd_max - self.snd_una) as u32;
            self.cc.on_enter_recovery(flight, mss);
            self.recover = self.snd_max;
            self.recovery = Some(self.snd_max);
            self.retransmit_una();
        }
    }

    fn retransmit_una(&mut self) {
        self.stats.fast_retransmits += 1;
        self.rtx_at = Some(self.snd_una);
    }

    /// SND.UNA advances to `ack` (SND.UNA < ack <= SND.MAX).
    fn on_new_ack(&mut self, now: Instant, ack: Seq) {
        let acked = (ack - self.snd_una) as u32;
        let freed = self.send.ack(ack);
        self.snd_una = ack;
        self.scoreboard.ack(ack);
        if self.snd_nxt < ack {
            self.snd_nxt = ack;
        }
        self.retries = 0;
        if freed > 0 {
            self.events |= ev::WRITABLE;
        }
        // RTT sample from the timed segment (Karn: none was retransmitted since).
        if let Some((end, sent)) = self.rtt_sample {
            if ack >= end {
                self.rtt_sample = None;
                self.rtt
                    .sample(now - sent, self.config.min_rto, self.config.max_rto);
            }
        }
        let mss = u32::from(self.snd_mss);
        let flight = (self.snd_max - self.snd_una) as u32;
        match self.recovery {
            Some(recover) if ack >= recover => {
                self.recovery = None;
                self.cc.on_exit_recovery(flight, mss);
            }
            // RFC 6675: a partial ACK changes nothing but the scoreboard; NextSeg picks
            // the next hole.
            Some(_) if self.sack_enabled => {}
            Some(_) => {
                // NewReno partial ACK: the next hole is at the new SND.UNA.
                self.cc.on_partial_ack(acked, mss);
                self.retransmit_una();
            }
            None => {
                if self.state.is_synchronized() {
                    let srtt = self.rtt.srtt();
                    self.cc.on_ack(now, acked, mss, srtt);
                }
            }
        }
        self.dup_acks = 0;
        // RFC 6298 §5.2–5.3: stop the timer when all is acked, else restart it.
        self.rto_at = None;
        if self.snd_una != self.snd_max {
            self.arm_rto(now);
        }
    }
}
