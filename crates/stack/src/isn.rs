//! Initial sequence numbers per RFC 6528, and the keyed hash behind them and the tables.
//!
//! `ISN = M + F(localip, localport, remoteip, remoteport, secretkey)` where `M` is a
//! 4-microsecond timer and `F` is SipHash-2-4 keyed with a secret the caller supplies (the
//! stack has no randomness source of its own: tests pass a fixed key, the daemon a random
//! one). The same construction with a different domain byte gives each connection's
//! timestamp offset (RFC 7323 §5.4), so TSval does not reveal uptime.
//!
//! [`SipHasher24`] also hashes the 4-tuple for the endpoint's connection table: keyed, so a
//! peer cannot aim many tuples at one bucket, and deterministic for a given key, so
//! simulations replay exactly.

use core::hash::{BuildHasher, Hasher};
use core::net::{IpAddr, SocketAddr};

use wire::tcp::TcpSeqNumber;

use crate::{FourTuple, Instant};

/// SipHash-2-4 (Aumasson and Bernstein), 64-bit output, streaming.
#[derive(Debug, Clone, Copy)]
pub struct SipHasher24 {
    v: [u64; 4],
    tail: u64,
    ntail: u32,
    length: u64,
}

impl SipHasher24 {
    /// A hasher keyed with `(k0, k1)`.
    pub fn new_with_keys(k0: u64, k1: u64) -> Self {
        SipHasher24 {
            v: [
                k0 ^ 0x736f_6d65_7073_6575,
                k1 ^ 0x646f_7261_6e64_6f6d,
                k0 ^ 0x6c79_6765_6e65_7261,
                k1 ^ 0x7465_6462_7974_6573,
            ],
            tail: 0,
            ntail: 0,
            length: 0,
        }
    }

    #[inline]
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }

    #[inline]
    fn compress(&mut self, m: u64) {
        self.v[3] ^= m;
        Self::round(&mut self.v);
        Self::round(&mut self.v);
        self.v[0] ^= m;
    }
}

impl Hasher for SipHasher24 {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.tail |= u64::from(b) << (8 * self.ntail);
            self.ntail += 1;
            if self.ntail == 8 {
                let m = self.tail;
                self.compress(m);
                self.tail = 0;
                self.ntail = 0;
            }
        }
        self.length += bytes.len() as u64;
    }

    fn finish(&self) -> u64 {
        let mut s = *self;
        let b = (s.length << 56) | s.tail;
        s.compress(b);
        s.v[2] ^= 0xff;
        for _ in 0..4 {
            Self::round(&mut s.v);
        }
        s.v[0] ^ s.v[1] ^ s.v[2] ^ s.v[3]
    }
}

/// A [`BuildHasher`] for `HashMap`s keyed by a secret: [`SipHasher24`] with fixed keys.
#[derive(Debug, Clone, Copy)]
pub struct SipBuildHasher {
    k0: u64,
    k1: u64,
}

impl SipBuildHasher {
    /// Keyed with the 16-byte `secret`.
    pub fn new(secret: [u8; 16]) -> Self {
        let (k0, k1) = split_key(secret);
        SipBuildHasher { k0, k1 }
    }
}

impl BuildHasher for SipBuildHasher {
    type Hasher = SipHasher24;
    fn build_hasher(&self) -> SipHasher24 {
        SipHasher24::new_with_keys(self.k0, self.k1)
    }
}

fn split_key(secret: [u8; 16]) -> (u64, u64) {
    let mut a = [0u8; 8];
    let mut b = [0u8; 8];
    a.copy_from_slice(&secret[..8]);
    b.copy_from_slice(&secret[8..]);
    (u64::from_le_bytes(a), u64::from_le_bytes(b))
}

fn write_addr(h: &mut SipHasher24, a: &SocketAddr) {
    match a.ip() {
        IpAddr::V4(ip) => h.write(&ip.octets()),
        IpAddr::V6(ip) => h.write(&ip.octets()),
    }
    h.write(&a.port().to_be_bytes());
}

/// Generates RFC 6528 initial sequence numbers and RFC 7323 timestamp offsets.
#[derive(Debug, Clone, Copy)]
pub struct IsnGenerator {
    k0: u64,
    k1: u64,
}

impl IsnGenerator {
    /// A generator keyed with `secret` (keep it secret; pick it at random at start-up).
    pub fn new(secret: [u8; 16]) -> Self {
        let (k0, k1) = split_key(secret);
        IsnGenerator { k0, k1 }
    }

    fn f(&self, domain: u8, tuple: &FourTuple) -> u64 {
        let mut h = SipHasher24::new_with_keys(self.k0, self.k1);
        h.write(&[domain]);
        write_addr(&mut h, &tuple.local);
        write_addr(&mut h, &tuple.remote);
        h.finish()
    }

    /// `M + F(4-tuple, key)` with `M` the time in 4 µs ticks (RFC 6528 §3).
    pub fn isn(&self, now: Instant, tuple: &FourTuple) -> TcpSeqNumber {
        let m = (now / 4_000) as u32;
        TcpSeqNumber::from_u32(m.wrapping_add(self.f(0, tuple) as u32))
    }

    /// A per-connection offset added to the millisecond timestamp clock (RFC 7323 §5.4).
    pub fn ts_offset(&self, tuple: &FourTuple) -> u32 {
        self.f(1, tuple) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> (u64, u64) {
        let mut k = [0u8; 16];
        for (i, b) in k.iter_mut().enumerate() {
            *b = i as u8;
        }
        split_key(k)
    }

    /// Vectors from the SipHash paper's reference implementation (key 00..0f, message
    /// 00..len-1).
    #[test]
    fn siphash_reference_vectors() {
        let (k0, k1) = key();
        let h = SipHasher24::new_with_keys(k0, k1);
        assert_eq!(h.finish(), 0x726f_db47_dd0e_0e31);
        let mut h = SipHasher24::new_with_keys(k0, k1);
        h.write(&[0]);
        assert_eq!(h.finish(), 0x74f8_39c5_93dc_67fd);
        // Split writes give the same hash as one write.
        let msg: Vec<u8> = (0..15).collect();
        let mut a = SipHasher24::new_with_keys(k0, k1);
        a.write(&msg);
        let mut b = SipHasher24::new_with_keys(k0, k1);
        b.write(&msg[..3]);
        b.write(&msg[3..]);
        assert_eq!(a.finish(), b.finish());
        assert_eq!(a.finish(), 0xa129_ca61_49be_45e5);
    }

    fn tuple(rport: u16) -> FourTuple {
        FourTuple {
            local: "10.0.0.1:80".parse().unwrap(),
            remote: SocketAddr::new("10.0.0.2".parse().unwrap(), rport),
        }
    }

    #[test]
    fn isn_differs_per_tuple_and_key_and_advances_with_time() {
        let g = IsnGenerator::new([7; 16]);
        let a = g.isn(0, &tuple(1000));
        let b = g.isn(0, &tuple(1001));
        assert_ne!(a, b, "same ISN for two tuples");
        let g2 = IsnGenerator::new([8; 16]);
        assert_ne!(a, g2.isn(0, &tuple(1000)), "ISN does not depend on the key");
        // M: 4 µs ticks, so 1 ms later the ISN is 250 higher for the same tuple.
        let later = g.isn(1_000_000, &tuple(1000));
        assert_eq!(later - a, 250);
        assert_ne!(g.ts_offset(&tuple(1000)), g.ts_offset(&tuple(1001)));
    }
}
