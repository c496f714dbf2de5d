//! The interface's neighbour cache: IP → MAC from ARP and Neighbor Discovery, with a
//! bounded queue of packets waiting for a resolution and a retry schedule.

use std::collections::{HashMap, VecDeque};

use core::net::IpAddr;

use crate::isn::SipBuildHasher;
use crate::{Instant, SECONDS};

/// Entries the cache holds at most; a new neighbour beyond that is not resolved.
pub(crate) const MAX_ENTRIES: usize = 4096;
/// Packets held per unresolved neighbour.
pub(crate) const MAX_PENDING: usize = 16;
/// Requests sent before the held packets are dropped.
const MAX_TRIES: u8 = 3;
/// Time between requests.
const RETRY: Instant = SECONDS;

#[derive(Debug, Default)]
struct Entry {
    mac: Option<[u8; 6]>,
    tries: u8,
    pending: VecDeque<Vec<u8>>,
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
    entries: HashMap<IpAddr, Entry, SipBuildHasher>,
    retries: VecDeque<(Instant, IpAddr)>,
}

impl NeighborCache {
    pub(crate) fn new(secret: [u8; 16]) -> Self {
        NeighborCache {
            entries: HashMap::with_hasher(SipBuildHasher::new(secret)),
            retries: VecDeque::new(),
        }
    }

    pub(crate) fn mac(&self, ip: IpAddr) -> Option<[u8; 6]> {
        self.entries.get(&ip).and_then(|e| e.mac)
    }

    /// Looks `ip` up; when unknown, holds `packet` (an IP packet) for it.
    pub(crate) fn lookup_or_hold(&mut self, now: Instant, ip: IpAddr, packet: &[u8]) -> Lookup {
        if let Some(mac) = self.mac(ip) {
            return Lookup::Known(mac);
        }
        if !self.entries.contains_key(&ip) && self.entries.len() >= MAX_ENTRIES {
            return Lookup::Full;
        }
        let e = self.entries.entry(ip).or_default();
        if e.pending.len() >= MAX_PENDING {
            return Lookup::Full;
        }
        e.pending.push_back(packet.to_vec());
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
        let e = self.entries.entry(ip).or_default();
        e.mac = Some(mac);
        e.tries = 0;
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
                self.entries.remove(&ip);
                continue;
            }
            e.tries += 1;
            self.retries.push_back((now + RETRY, ip));
            request(ip);
        }
        dropped
    }
}
