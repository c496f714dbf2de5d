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
            State::Established => {
                if !self.in_order_data(now, seg, payload) {
                    self.on_synchronized(now, seg, payload);
                }
            }
            _ => self.on_synchronized(now, seg, payload),
        }
    }

    /// Header prediction (Van Jacobson's, as in BSD and Linux's fast path): the next
    /// in-order data segment of an established connection that acknowledges nothing new,
    /// carries no flag but ACK and PSH, no SACK block, passes PAWS, fits the window and
    /// finds no out-of-order data held. For such a segment [`on_synchronized`] reaches
    /// the same state through every check of RFC 9293 §3.10.7.4 (and RFC 7323, 5961,
    /// 2018) one at a time; here the conditions under which those checks all pass are
    /// tested together, and only what they would change is done: TS.Recent, the send
    /// window's update rule, the bytes appended at RCV.NXT, the delayed ACK. False (and
    /// nothing changed) for any other segment, which takes the general path.
    ///
    /// [`on_synchronized`]: Self::on_synchronized
    fn in_order_data(&mut self, now: Instant, seg: &TcpRepr, payload: &[u8]) -> bool {
        let (seq, ack) = (seg.seq_number, seg.ack_number);
        let wnd = (self.rcv_adv - self.rcv_nxt).max(0) as usize;
        let tsval = match (self.ts_enabled, seg.timestamp) {
            (false, _) => None,
            (true, Some((v, _))) if !ts_before(v, self.ts_recent) => Some(v),
            // Missing or failing PAWS: the general path drops (and may ACK) it.
            (true, _) => return false,
        };
        let predicted = seg.flags.bits() & !TcpFlags::PSH.bits() == TcpFlags::ACK.bits()
            && seq == self.rcv_nxt
            && ack == self.snd_una
            && !payload.is_empty()
            && payload.len() <= wnd
            && seg.sack_ranges[0].is_none()
            && self.recv.ooo_ranges() == 0;
        if !predicted {
            return false;
        }
        if let Some(v) = tsval {
            // RFC 7323 §4.3: the segment covers Last.ACK.sent (it starts at RCV.NXT).
            if seq <= self.last_ack_sent {
                self.ts_recent = v;
            }
        }
        // An acceptable ACK (SEG.ACK = SND.UNA): it answers any window probe, and the
        // window's update rule applies (SND.WL1/SND.WL2).
        self.probes_out = 0;
        let swnd = u32::from(seg.window_len) << self.snd_wscale;
        if self.snd_wl1 < seq || (self.snd_wl1 == seq && self.snd_wl2 <= ack) {
            self.snd_wnd = swnd;
            self.max_snd_wnd = self.max_snd_wnd.max(swnd);
            self.snd_wl1 = seq;
            self.snd_wl2 = ack;
            if swnd > 0 {
                self.persist_at = None;
                self.persist_backoff = 0;
            }
        }
        // Seventh, the text: all of it is new, in order and inside the window.
        self.recv.append_in_order(payload);
        self.rcv_nxt += payload.len();
        self.events |= ev::READABLE;
        self.schedule_ack(now, payload.len());
        true
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::TcpConfig;
    use crate::FourTuple;
    use std::sync::Arc;

    const NOW: Instant = 1_000_000_000;

    /// A receiver (accepted side) in ESTABLISHED after a handshake and `sent` bytes from
    /// the peer plus `ours` bytes of its own in flight, built the same way every call; and
    /// the peer.
    fn pair(sent: usize, ours: usize) -> (Connection, Connection) {
        let cfg = Arc::new(TcpConfig::default());
        let (x, y) = (
            "10.0.0.1:1000".parse().unwrap(),
            "10.0.0.2:80".parse().unwrap(),
        );
        let ta = FourTuple {
            local: x,
            remote: y,
        };
        let tb = FourTuple {
            local: y,
            remote: x,
        };
        let mut a = Connection::connect(cfg.clone(), NOW, ta, Seq::from_u32(7), 11);
        let mut buf = Vec::new();
        let syn = a.poll_transmit(NOW, &mut buf).unwrap();
        let mut b = Connection::accept(cfg, NOW, tb, &syn, Seq::from_u32(u32::MAX - 5), 13);
        let mut to_b = |a: &mut Connection, b: &mut Connection| {
            while let Some(r) = a.poll_transmit(NOW, &mut buf) {
                b.handle_segment(NOW, &r, &buf);
            }
        };
        let synack = b.poll_transmit(NOW, &mut Vec::new()).unwrap();
        a.handle_segment(NOW, &synack, &[]);
        to_b(&mut a, &mut b);
        assert_eq!(b.state(), State::Established);
        a.send(&vec![1; sent]).unwrap();
        to_b(&mut a, &mut b);
        b.send(&vec![2; ours]).unwrap();
        let mut sink = Vec::new();
        while b.poll_transmit(NOW, &mut sink).is_some() {}
        (a, b)
    }

    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    /// Every segment the prediction takes leaves the connection exactly as the general
    /// path leaves it; every segment it refuses leaves the connection untouched.
    #[test]
    fn header_prediction_matches_the_general_path() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut taken = 0;
        for round in 0..3000 {
            let (sent, ours) = ([0, 1448, 5000][round % 3], [0, 0, 700][round / 3 % 3]);
            let (_, mut fast) = pair(sent, ours);
            let (_, mut slow) = pair(sent, ours);
            let before = format!("{fast:?}");
            assert_eq!(before, format!("{slow:?}"), "pairs are built identically");
            let flags = [
                TcpFlags::ACK,
                TcpFlags::ACK | TcpFlags::PSH,
                TcpFlags::ACK | TcpFlags::FIN,
                TcpFlags::ACK | TcpFlags::SYN,
                TcpFlags::ACK | TcpFlags::RST,
                TcpFlags::ACK | TcpFlags::URG,
                TcpFlags::PSH,
                TcpFlags::ACK | TcpFlags::ECE,
            ][rng.below(16).saturating_sub(8) as usize];
            let seq = match rng.below(10) {
                0 => slow.rcv_nxt - 1,
                1 => slow.rcv_nxt + 10,
                2 => slow.rcv_adv,
                _ => slow.rcv_nxt,
            };
            let ack = match rng.below(10) {
                0 => slow.snd_una - 1,
                1 => slow.snd_max,
                2 => slow.snd_una + 1,
                _ => slow.snd_una,
            };
            let wnd_now = (slow.rcv_adv - slow.rcv_nxt) as usize;
            let len = [0, 1, 100, 1448, wnd_now, wnd_now + 1][rng.below(6) as usize];
            let ts = match rng.below(10) {
                0 => None,
                1 => Some((slow.ts_recent.wrapping_sub(1), 0)),
                2 => Some((slow.ts_recent.wrapping_add(1 << 31), 5)),
                _ => Some((slow.ts_recent.wrapping_add(rng.below(3) as u32), 9)),
            };
            let mut sack_ranges = [None; 4];
            if rng.below(8) == 0 {
                sack_ranges[0] = Some(((ack + 10).to_u32(), (ack + 20).to_u32()));
            }
            let seg = TcpRepr {
                src_port: 1000,
                dst_port: 80,
                seq_number: seq,
                ack_number: ack,
                flags,
                window_len: [0, 1, 4000, 65535][rng.below(4) as usize],
                timestamp: ts,
                sack_ranges,
                payload_len: len,
                ..TcpRepr::default()
            };
            let payload = vec![3u8; len];
            let now = NOW + rng.below(3) * 1_000_000;
            if fast.in_order_data(now, &seg, &payload) {
                taken += 1;
            } else {
                assert_eq!(format!("{fast:?}"), before, "refused, yet changed: {seg:?}");
                fast.on_synchronized(now, &seg, &payload);
            }
            slow.on_synchronized(now, &seg, &payload);
            assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "after {seg:?}");
        }
        assert!(taken > 100, "the prediction was taken {taken} times");
    }
}
