//! Path MTU discovery input (RFC 1191, RFC 8201): an ICMP "fragmentation needed" or
//! "packet too big" lowers the MSS this connection sends with.

use super::Connection;

impl Connection {
    /// The path to the peer carries at most `mss` bytes of TCP payload per segment (the
    /// path MTU less the IP and TCP headers). Lowers the send MSS (option overhead taken
    /// off, never below 64) and resends the first unacknowledged segment at the new size;
    /// a larger value is ignored (PMTU only shrinks here). Returns true when it changed.
    pub fn handle_path_mtu(&mut self, mss: u16) -> bool {
        let overhead = if self.ts_enabled { 12 } else { 0 };
        let new = mss.saturating_sub(overhead).max(64);
        if new >= self.snd_mss {
            return false;
        }
        self.snd_mss = new;
        if self.state.is_synchronized() && self.snd_una < self.snd_max {
            self.rtx_at = Some(self.snd_una);
        }
        true
    }
}
