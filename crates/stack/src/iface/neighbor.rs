//! The interface's neighbour cache: IP → MAC from ARP and Neighbor Discovery, with a
//! bounded queue of packets waiting for a resolution and a retry schedule.

use std::collections::{HashMap, VecDeque};

use core::net::{IpAddr, Ipv4Addr};

use crate::isn::TableBuildHasher;
use crate::{Instant, SECONDS};

/// Entries the cache holds at most; a new neighbour beyond that is not resolved.
pub(crate) const MAX_ENTRIES: usize = 4096;
/// Bytes of IP packets held per unresolved neighbour (Linux's default `unres_qlen_bytes`
/// holds about as many small packets): enough for a burst of new connections' SYNs to a
/// neighbour not yet resolved, which would otherwise wait for their retransmission.
pub(crate) const MAX_PENDING_BYTES: usize = 64 * 1024;
/// Packets held per unresolved neighbour, whatever their size.
pub(crate) const MAX_PENDING: usize = 1024;
/// Bytes held for all neighbours together (bounds the cache's memory under a flood of
/// destinations that never answer).
pub(crate) const MAX_HELD_BYTES: usize = 1024 * 1024;
/// A held packet's cost beyond its bytes, for the byte bounds (its allocation).
const PACKET_OVERHEAD: usize = 64;
/// Requests sent before the held packets are dropped.
const MAX_TRIES: u8 = 3;
/// Time between requests.
const RETRY: Instant = SECONDS;

#[derive(Debug, Default)]
struct Entry {
    mac: Option<[u8; 6]>,
    tries: u8,
    pending: VecDeque<Vec<u8>>,
    /// `pending`'s cost in bytes (see `PACKET_OVERHEAD`).
    pending_bytes: usize,
}

/// What to do with an IP packet for a neighbour.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// Known: send to this MAC.
    Known([u8; 6]),
    /// Unknown; the packet was held. `true`: send a request now.
    Held(bool),
    /// Unknown and no room to hold it (counted by the caller).
    Full,
}

#[derive(Debug)]
pub(crate) struct NeighborCache {
    entries: HashMap<IpAddr, Entry, TableBuildHasher>,
    retries: VecDeque<(Instant, IpAddr)>,
    /// The sum of every entry's `pending_bytes`.
    held_bytes: usize,
    /// The neighbour `lookup_or_hold` last found resolved: packets come in runs to one
    /// neighbour (the gateway, or the peer of a connection), and this spares them the hash
    /// lookup. Cleared whenever an entry is learned or removed.
    last: Option<(IpAddr, [u8; 6])>,
    /// The IPv4 destination (not next hop) the interface last sent to and its next hop's
    /// MAC, noted by the interface after a resolution ([`note_dst_v4`](Self::note_dst_v4))
    /// so that the next packet to it skips the route choice too. Cleared with `last`.
    last_dst: Option<(Ipv4Addr, [u8; 6])>,
}

impl NeighborCache {
    pub(crate) fn new(secret: [u8; 16]) -> Self {
        NeighborCache {
            entries: HashMap::with_hasher(TableBuildHasher::new(secret)),
            retries: VecDeque::new(),
            held_bytes: 0,
            last: None,
            last_dst: None,
        }
    }

    pub(crate) fn mac(&self, ip: IpAddr) -> Option<[u8; 6]> {
        self.entries.get(&ip).and_then(|e| e.mac)
    }

    /// The MAC of IPv4 neighbour `ip` if it is the one last found resolved: the send
    /// path's first try, on the address as a register value. Through `lookup_or_hold`
    /// the freshly built 17-byte `IpAddr` went via memory and was read back with wider
    /// loads than had stored it (a stall of ~1% of tcp-bulk-memory's time, perf
    /// annotate).
    pub(crate) fn last_v4(&self, ip: Ipv4Addr) -> Option<[u8; 6]> {
        match self.last {
            Some((IpAddr::V4(last), mac)) if last == ip => Some(mac),
            _ => None,
        }
    }

    /// The MAC that IPv4 destination `dst` went to last, while no entry has changed since.
    pub(crate) fn last_dst_v4(&self, dst: Ipv4Addr) -> Option<[u8; 6]> {
        match self.last_dst {
            Some((last, mac)) if last == dst => Some(mac),
            _ => None,
        }
    }

    /// Notes that IPv4 destination `dst` resolved to `mac` (see `last_dst`).
    pub(crate) fn note_dst_v4(&mut self, dst: Ipv4Addr, mac: [u8; 6]) {
        self.last_dst = Some((dst, mac));
    }

    /// Looks `ip` up; when unknown, holds `packet` (an IP packet) for it.
    pub(crate) fn lookup_or_hold(&mut self, now: Instant, ip: IpAddr, packet: &[u8]) -> Lookup {
        match self.last {
            Some((last, mac)) if last == ip => return Lookup::Known(mac),
            _ => {}
        }
        if let Some(mac) = self.mac(ip) {
            self.last = Some((ip, mac));
            return Lookup::Known(mac);
        }
        if !self.entries.contains_key(&ip) && self.entries.len() >= MAX_ENTRIES {
            return Lookup::Full;
        }
        let cost = packet.len() + PACKET_OVERHEAD;
        if self.held_bytes + cost > MAX_HELD_BYTES {
            return Lookup::Full;
        }
        let e = self.entries.entry(ip).or_default();
        if e.pending.len() >= MAX_PENDING || e.pending_bytes + cost > MAX_PENDING_BYTES {
            return Lookup::Full;
        }
        e.pending.push_back(packet.to_vec());
        e.pending_bytes += cost;
        self.held_bytes += cost;
        let first = e.tries == 0;
        if first {
            e.tries = 1;
            self.retries.push_back((now + RETRY, ip));
        }
        Lookup::Held(first)
    }

    /// Records `ip` at `mac` (from an ARP or ND message); returns the packets held for it.
    pub(crate) fn learn(&mut self, ip: IpAddr, mac: [u8; 6]) -> VecDeque<Vec<u8>> {
        if !self.entries.contains_key(&ip) && self.entries.len() >= MAX_ENTRIES {
            return VecDeque::new();
        }
        self.last = None;
        self.last_dst = None;
        let e = self.entries.entry(ip).or_default();
        e.mac = Some(mac);
        e.tries = 0;
        self.held_bytes -= core::mem::take(&mut e.pending_bytes);
        std::mem::take(&mut e.pending)
    }

    /// Updates `ip` only if it is already in the cache (RFC 826's merge rule).
    pub(crate) fn refresh(&mut self, ip: IpAddr, mac: [u8; 6]) -> VecDeque<Vec<u8>> {
        if self.entries.contains_key(&ip) {
            self.learn(ip, mac)
        } else {
            VecDeque::new()
        }
    }

    pub(crate) fn next_retry(&self) -> Option<Instant> {
        self.retries.front().map(|&(at, _)| at)
    }

    /// Due retries: calls `request(ip)` for each neighbour to ask again; returns how many
    /// held packets were dropped because the neighbour never answered.
    pub(crate) fn handle_timeout(&mut self, now: Instant, mut request: impl FnMut(IpAddr)) -> u64 {
        let mut dropped = 0;
        while let Some(&(at, ip)) = self.retries.front() {
            if at > now {
                break;
            }
            self.retries.pop_front();
            let Some(e) = self.entries.get_mut(&ip) else {
                continue;
            };
            if e.mac.is_some() || e.tries == 0 {
                continue;
            }
            if e.tries >= MAX_TRIES {
                dropped += e.pending.len() as u64;
                self.held_bytes -= e.pending_bytes;
                self.entries.remove(&ip);
                self.last = None;
                self.last_dst = None;
                continue;
            }
            e.tries += 1;
            self.retries.push_back((now + RETRY, ip));
            request(ip);
        }
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(i: u32) -> IpAddr {
        IpAddr::V4((0x0a00_0000 + i).into())
    }

    #[test]
    fn holds_a_burst_of_small_packets_then_releases_them() {
        let mut c = NeighborCache::new([1; 16]);
        let syn = [0u8; 60];
        assert_eq!(c.lookup_or_hold(0, ip(1), &syn), Lookup::Held(true));
        for _ in 1..256 {
            assert_eq!(c.lookup_or_hold(0, ip(1), &syn), Lookup::Held(false));
        }
        assert_eq!(c.held_bytes, 256 * (60 + PACKET_OVERHEAD));
        let held = c.learn(ip(1), [2; 6]);
        assert_eq!(held.len(), 256);
        assert_eq!(c.held_bytes, 0);
        assert_eq!(c.lookup_or_hold(0, ip(1), &syn), Lookup::Known([2; 6]));
    }

    #[test]
    fn a_changed_mac_is_used_at_once() {
        let mut c = NeighborCache::new([1; 16]);
        c.learn(ip(1), [2; 6]);
        c.learn(ip(2), [3; 6]);
        assert_eq!(c.lookup_or_hold(0, ip(1), &[]), Lookup::Known([2; 6]));
        assert_eq!(c.lookup_or_hold(0, ip(1), &[]), Lookup::Known([2; 6]));
        assert_eq!(c.lookup_or_hold(0, ip(2), &[]), Lookup::Known([3; 6]));
        assert_eq!(c.lookup_or_hold(0, ip(2), &[]), Lookup::Known([3; 6]));
        c.refresh(ip(2), [4; 6]);
        assert_eq!(c.lookup_or_hold(0, ip(2), &[]), Lookup::Known([4; 6]));
        c.learn(ip(1), [5; 6]);
        assert_eq!(c.lookup_or_hold(0, ip(1), &[]), Lookup::Known([5; 6]));
        assert_eq!(c.lookup_or_hold(0, ip(2), &[]), Lookup::Known([4; 6]));
    }

    #[test]
    fn per_neighbour_bounds_in_bytes_and_packets() {
        let mut c = NeighborCache::new([1; 16]);
        let big = [0u8; 1500];
        let fit = MAX_PENDING_BYTES / (1500 + PACKET_OVERHEAD);
        for _ in 0..fit {
            assert!(matches!(c.lookup_or_hold(0, ip(1), &big), Lookup::Held(_)));
        }
        assert_eq!(c.lookup_or_hold(0, ip(1), &big), Lookup::Full);
        // Another neighbour still has room.
        assert_eq!(c.lookup_or_hold(0, ip(2), &big), Lookup::Held(true));
        let mut c = NeighborCache::new([1; 16]);
        for _ in 0..MAX_PENDING {
            assert!(matches!(c.lookup_or_hold(0, ip(1), &[]), Lookup::Held(_)));
        }
        assert_eq!(c.lookup_or_hold(0, ip(1), &[]), Lookup::Full);
    }

    #[test]
    fn all_neighbours_together_are_bounded_and_timeouts_give_the_bytes_back() {
        let mut c = NeighborCache::new([1; 16]);
        let big = [0u8; 1500];
        let mut held = 0;
        for i in 0..MAX_ENTRIES as u32 {
            match c.lookup_or_hold(0, ip(i), &big) {
                Lookup::Held(_) => held += 1,
                Lookup::Full => break,
                Lookup::Known(_) => unreachable!(),
            }
        }
        assert_eq!(held, MAX_HELD_BYTES / (1500 + PACKET_OVERHEAD));
        assert!(c.held_bytes <= MAX_HELD_BYTES);
        let mut asked = 0;
        let mut dropped = 0;
        for round in 1..=u64::from(MAX_TRIES) {
            dropped += c.handle_timeout(round * RETRY, |_| asked += 1);
        }
        assert_eq!(asked, held * (usize::from(MAX_TRIES) - 1));
        assert_eq!(dropped, held as u64);
        assert_eq!(c.held_bytes, 0);
        assert!(matches!(
            c.lookup_or_hold(0, ip(1), &big),
            Lookup::Held(true)
        ));
    }
}
