//! SACK (RFC 2018) both ways and SACK-based loss recovery (RFC 6675).
//!
//! Receiver: the out-of-order queue's runs become SACK blocks, the block holding the most
//! recently received segment first, then the blocks reported most recently, then the
//! rest, as many as fit beside the other options (3 with timestamps, else 4).
//!
//! Sender: valid blocks go to the scoreboard; an ACK with new SACK information counts as
//! a duplicate ACK; recovery starts on the third one or when `IsLost(SND.UNA)`; while in
//! recovery each `poll_transmit` sends `NextSeg()` if `cwnd − pipe ≥ SMSS`.

use wire::tcp::{TcpRepr, TcpSeqNumber as Seq};

use super::Connection;
use crate::Instant;

/// What NextSeg (RFC 6675 §4) chose.
enum Next {
    /// Retransmit `len` bytes at `seq` (rules 1 and 3; HighRxt moves).
    Retransmit(Seq, usize),
    /// New data at SND.NXT (rule 2).
    New,
    /// The rescue retransmission (rule 4; HighRxt does not move).
    Rescue(Seq, usize),
}

impl Connection {
    /// Takes the SACK blocks of an ACK (`ack` acceptable) into the scoreboard; true if
    /// any of them reported something new. Invalid blocks are ignored and counted.
    pub(super) fn take_sack_blocks(&mut self, seg: &TcpRepr, ack: Seq) -> bool {
        let lo = ack.max(self.snd_una);
        let mut new = false;
        for &(l, r) in seg.sack_ranges.iter().flatten() {
            let (l, r) = (Seq::from_u32(l), Seq::from_u32(r));
            if l < r && r <= lo {
                // Old news, or a D-SACK (RFC 2883): nothing for the scoreboard.
                continue;
            }
            if l >= r || r > self.snd_max || l + (self.max_snd_wnd.max(1) as usize) < lo {
                self.stats.sack_rejected += 1;
                continue;
            }
            new |= self.scoreboard.add(l.max(lo), r);
        }
        new
    }

    /// An out-of-order segment at `seq` was queued: it heads the next SACK option.
    pub(super) fn note_sack_anchor(&mut self, seq: Seq) {
        let block = self.recv.block_containing(seq);
        let mut kept = [seq; 4];
        let mut n = 1;
        for &a in &self.sack_anchors[..usize::from(self.sack_anchor_count)] {
            let b = self.recv.block_containing(a);
            if n < kept.len() && b.is_some() && b != block {
                kept[n] = a;
                n += 1;
            }
        }
        self.sack_anchors = kept;
        self.sack_anchor_count = n as u8;
    }

    fn max_sack_blocks(&self) -> usize {
        // 40 option bytes: timestamps take 12 (padded), SACK 2 + 2 + 8n.
        if self.ts_enabled {
            3
        } else {
            4
        }
    }

    /// The SACK blocks for an outgoing ACK (RFC 2018 §4), as the option carries them.
    pub(super) fn sack_blocks(&self) -> [Option<(u32, u32)>; 4] {
        let mut out: [Option<(Seq, Seq)>; 4] = [None; 4];
        let max = self.max_sack_blocks();
        let mut n = 0;
        let anchors = self.sack_anchors[..usize::from(self.sack_anchor_count)].iter();
        let recent = anchors.filter_map(|&a| self.recv.block_containing(a));
        for b in recent.chain(self.recv.blocks()) {
            if n == max {
                break;
            }
            if !out[..n].contains(&Some(b)) {
                out[n] = Some(b);
                n += 1;
            }
        }
        out.map(|b| b.map(|(l, r)| (l.to_u32(), r.to_u32())))
    }

    /// Option bytes the SACK blocks of the next segment take (NOP NOP kind len 8n).
    pub(super) fn sack_option_len(&self) -> usize {
        if !self.sack_enabled || self.recv.ooo_ranges() == 0 {
            return 0;
        }
        let n = self.recv.blocks().take(self.max_sack_blocks()).count();
        4 + 8 * n
    }

    /// RFC 6675 §5 step 4: enter loss recovery.
    pub(super) fn enter_sack_recovery(&mut self) {
        let mss = u32::from(self.snd_mss);
        let flight = (self.snd_max - self.snd_una) as u32;
        self.cc.on_congestion(flight, mss);
        self.recover = self.snd_max;
        self.recovery = Some(self.snd_max);
        self.high_rxt = self.snd_una;
        self.rescue_rxt = None;
        self.stats.fast_retransmits += 1;
        // Step 4.3: the first hole goes out at once, whatever pipe says.
        self.rtx_at = Some(self.snd_una);
    }

    pub(super) fn in_sack_recovery(&self) -> bool {
        self.sack_enabled && self.recovery.is_some()
    }

    /// RFC 6675 SetPipe: bytes believed in the network.
    pub(super) fn pipe(&self) -> usize {
        let (una, max) = (self.snd_una, self.snd_max);
        let sb = &self.scoreboard;
        let unsacked = sb.unsacked_in(una, max);
        let lost = match sb.lost_edge(usize::from(self.snd_mss)) {
            Some(e) if e > una => sb.unsacked_in(una, e),
            _ => 0,
        };
        let rtx = if self.high_rxt > una {
            sb.unsacked_in(una, self.high_rxt)
        } else {
            0
        };
        unsacked - lost + rtx
    }

    /// RFC 6675 NextSeg.
    fn next_seg(&self) -> Option<Next> {
        let mss = usize::from(self.snd_mss);
        let una = self.snd_una;
        let sb = &self.scoreboard;
        let start = sb.next_unsacked(self.high_rxt.max(una));
        let len_at = |s: Seq| {
            let to_max = (self.snd_max - s).max(0) as usize;
            mss.min(sb.gap_after(s).unwrap_or(usize::MAX)).min(to_max)
        };
        // (1) The first lost unSACKed segment above HighRxt.
        if let Some(edge) = sb.lost_edge(mss) {
            if start < edge && start < self.snd_max {
                return Some(Next::Retransmit(start, len_at(start)));
            }
        }
        // (2) New data the receiver's window allows.
        let in_flight = (self.snd_nxt - una).max(0) as usize;
        let fin_unsent = self.fin_queued && self.snd_nxt == self.send.end();
        if (self.send.available(self.snd_nxt) > 0 || fin_unsent)
            && (self.snd_wnd as usize) > in_flight
        {
            return Some(Next::New);
        }
        // (3) Any unSACKed segment above HighRxt below the highest SACKed byte.
        if sb.highest().is_some_and(|h| start < h) {
            return Some(Next::Retransmit(start, len_at(start)));
        }
        // (4) One rescue retransmission per recovery: the highest unSACKed segment.
        if self.rescue_rxt.is_none_or(|r| una > r) {
            if let Some((lo, hi)) = sb.last_unsacked_before(una, self.snd_max) {
                let len = ((hi - lo) as usize).min(mss);
                return Some(Next::Rescue(hi - len, len));
            }
        }
        None
    }

    /// In SACK recovery: the next segment if `cwnd − pipe ≥ SMSS` (RFC 6675 §5 step C).
    pub(super) fn sack_transmit(&mut self, now: Instant, out: &mut TcpRepr) -> bool {
        let mss = usize::from(self.snd_mss);
        if (self.cc.cwnd as usize) < self.pipe() + mss {
            return false;
        }
        match self.next_seg() {
            None => false,
            Some(Next::Retransmit(seq, len)) => {
                if !self.segment_at(now, seq, len, out) {
                    return false;
                }
                let fin = usize::from(out.flags.contains(wire::tcp::TcpFlags::FIN));
                self.high_rxt = seq + (out.payload_len + fin);
                true
            }
            Some(Next::New) => {
                let room = (self.snd_wnd as usize)
                    .saturating_sub((self.snd_nxt - self.snd_una).max(0) as usize);
                self.send_at_nxt(now, room, out)
            }
            Some(Next::Rescue(seq, len)) => {
                if !self.segment_at(now, seq, len, out) {
                    return false;
                }
                self.rescue_rxt = self.recovery;
                self.stats.rescue_retransmits += 1;
                true
            }
        }
    }
}
