//! Initial sequence numbers per RFC 6528, and the keyed hash behind them and the tables.
//!
//! `ISN = M + F(localip, localport, remoteip, remoteport, secretkey)` where `M` is a
//! 4-microsecond timer and `F` is SipHash-2-4 keyed with a secret the caller supplies (the
//! stack has no randomness source of its own: tests pass a fixed key, the daemon a random
//! one). The other half of the same 64-bit output gives each connection's timestamp
//! offset (RFC 7323 §5.4), so TSval does not reveal uptime (SipHash is a PRF: the halves
//! of one output are as unrelated as two outputs, and one hash per connection is half the
//! cost).
//!
//! The hash tables (the endpoint's 4-tuples and listeners, the sockets', the neighbour
//! cache's) use [`TableHasher`] instead: a folded multiply (foldhash's construction) whose
//! every operand is XORed with a value derived from the same secret, so a peer that cannot
//! see the secret cannot aim many tuples at one bucket, at a few instructions per key
//! rather than SipHash's hundreds. It is deterministic for a given key, so simulations
//! replay exactly. SipHash stays where the output is seen on the wire and must not be
//! predictable: ISNs, timestamp offsets and SYN cookies.

use core::hash::{BuildHasher, Hasher};
use core::net::IpAddr;

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
        self.length += bytes.len() as u64;
        let mut rest = bytes;
        // Top up a partial word first, then whole words, then keep the tail.
        while self.ntail != 0 {
            let Some((&b, r)) = rest.split_first() else {
                return;
            };
            self.tail |= u64::from(b) << (8 * self.ntail);
            self.ntail += 1;
            rest = r;
            if self.ntail == 8 {
                let m = self.tail;
                self.compress(m);
                self.tail = 0;
                self.ntail = 0;
            }
        }
        let mut words = rest.chunks_exact(8);
        for w in &mut words {
            let mut m = [0u8; 8];
            m.copy_from_slice(w);
            self.compress(u64::from_le_bytes(m));
        }
        for (i, &b) in words.remainder().iter().enumerate() {
            self.tail |= u64::from(b) << (8 * i);
        }
        self.ntail = words.remainder().len() as u32;
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

/// The multiply behind [`TableHasher`]: the 128-bit product's halves XORed together.
#[inline(always)]
fn folded_multiply(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// The tables' hasher (see the module documentation): each 128-bit word `w` of input
/// becomes `acc = fold((w.lo ^ acc) * (w.hi ^ seed))`, `acc` starting from a secret and
/// `seed` secret, so no input zeroes a factor unless it knows them (the weakness of an
/// unkeyed folded multiply). Smaller integers are one word; keys that matter
/// ([`FourTuple`], [`ConnectionHandle`](crate::ConnectionHandle)) hash as one or two words.
#[derive(Debug, Clone, Copy)]
pub struct TableHasher {
    acc: u64,
    seed: u64,
}

impl Hasher for TableHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        // The length rotates the state first, so zero padding cannot extend an input.
        self.acc = self.acc.rotate_right(bytes.len() as u32);
        for chunk in bytes.chunks(16) {
            let mut w = [0u8; 16];
            w[..chunk.len()].copy_from_slice(chunk);
            self.write_u128(u128::from_le_bytes(w));
        }
    }

    #[inline]
    fn write_u128(&mut self, w: u128) {
        self.acc = folded_multiply((w as u64) ^ self.acc, ((w >> 64) as u64) ^ self.seed);
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.write_u128(u128::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }

    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.write_u64(u64::from(i));
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.acc
    }
}

/// A [`BuildHasher`] of [`TableHasher`]s keyed by a secret (through SipHash, so the table
/// seeds reveal nothing of the ISN key).
#[derive(Debug, Clone, Copy)]
pub struct TableBuildHasher {
    acc: u64,
    seed: u64,
}

impl TableBuildHasher {
    /// Keyed with the 16-byte `secret`.
    pub fn new(secret: [u8; 16]) -> Self {
        let (k0, k1) = split_key(secret);
        let derive = |domain: u8| {
            let mut h = SipHasher24::new_with_keys(k0, k1);
            h.write(&[domain]);
            h.finish()
        };
        TableBuildHasher {
            acc: derive(3),
            seed: derive(4),
        }
    }
}

impl BuildHasher for TableBuildHasher {
    type Hasher = TableHasher;
    #[inline]
    fn build_hasher(&self) -> TableHasher {
        TableHasher {
            acc: self.acc,
            seed: self.seed,
        }
    }
}

fn split_key(secret: [u8; 16]) -> (u64, u64) {
    let mut a = [0u8; 8];
    let mut b = [0u8; 8];
    a.copy_from_slice(&secret[..8]);
    b.copy_from_slice(&secret[8..]);
    (u64::from_le_bytes(a), u64::from_le_bytes(b))
}

/// Writes `domain`, then each address's IP and port (big-endian) of `tuple`, in one call.
fn write_tuple(h: &mut SipHasher24, domain: u8, tuple: &FourTuple) {
    let mut msg = [0u8; 1 + 2 * 18];
    msg[0] = domain;
    let mut n = 1;
    for a in [&tuple.local, &tuple.remote] {
        let len = match a.ip() {
            IpAddr::V4(ip) => {
                msg[n..n + 4].copy_from_slice(&ip.octets());
                4
            }
            IpAddr::V6(ip) => {
                msg[n..n + 16].copy_from_slice(&ip.octets());
                16
            }
        };
        msg[n + len..n + len + 2].copy_from_slice(&a.port().to_be_bytes());
        n += len + 2;
    }
    h.write(&msg[..n]);
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
        write_tuple(&mut h, domain, tuple);
        h.finish()
    }

    /// `M + F(4-tuple, key)` with `M` the time in 4 µs ticks (RFC 6528 §3).
    pub fn isn(&self, now: Instant, tuple: &FourTuple) -> TcpSeqNumber {
        self.isn_and_ts_offset(now, tuple).0
    }

    /// A per-connection offset added to the millisecond timestamp clock (RFC 7323 §5.4).
    pub fn ts_offset(&self, tuple: &FourTuple) -> u32 {
        (self.f(0, tuple) >> 32) as u32
    }

    /// [`isn`](Self::isn) and [`ts_offset`](Self::ts_offset) from one hash: the low and
    /// high halves of `F`.
    pub fn isn_and_ts_offset(&self, now: Instant, tuple: &FourTuple) -> (TcpSeqNumber, u32) {
        let m = (now / 4_000) as u32;
        let f = self.f(0, tuple);
        (
            TcpSeqNumber::from_u32(m.wrapping_add(f as u32)),
            (f >> 32) as u32,
        )
    }
}

/// MSS values a SYN cookie can carry (3 bits): the peer's MSS is rounded down to one.
pub const COOKIE_MSS: [u16; 8] = [536, 1220, 1280, 1300, 1360, 1400, 1440, 1460];

/// How long a SYN cookie stays valid: its 5-bit counter ticks every 64 s and a cookie
/// from the current or the previous tick is accepted (64–128 s).
pub const COOKIE_PERIOD: Instant = 64 * crate::SECONDS;

/// What a SYN cookie's ISN carries: the MSS (one of [`COOKIE_MSS`]).
///
/// Layout (D. J. Bernstein's, RFC 4987 §3.6): `t` (5 bits: time / 64 s mod 32) | `m`
/// (3 bits: MSS index) | `H(secret, 4-tuple, peer ISN, t, m)` (24 bits). The peer's window
/// scale and SACK-permitted go in the low 6 bits of our SYN-ACK's TSval (Linux's layout:
/// bits 0–3 the shift, 15 for none; bit 4 SACK), which the peer echoes in TSecr; a peer
/// that does not use timestamps gets neither option (nothing can carry them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieOptions {
    /// The peer's window shift, if it offered window scaling.
    pub window_scale: Option<u8>,
    /// The peer offered SACK.
    pub sack: bool,
}

impl CookieOptions {
    /// The 6 low bits of TSval that carry these options.
    pub fn to_ts_bits(self) -> u32 {
        let ws = self.window_scale.map_or(0xf, |w| u32::from(w.min(14)));
        ws | (u32::from(self.sack) << 4)
    }

    /// Decodes [`to_ts_bits`](Self::to_ts_bits) from an echoed TSecr.
    pub fn from_ts_bits(bits: u32) -> Self {
        let ws = (bits & 0xf) as u8;
        CookieOptions {
            window_scale: (ws <= 14).then_some(ws),
            sack: bits & 0x10 != 0,
        }
    }

    /// `ts` (our TS clock now) with its low 6 bits replaced by the options, never ahead of
    /// `ts` (so our later TSvals do not go backwards, which the peer's PAWS would drop).
    pub fn encode_tsval(self, ts: u32) -> u32 {
        let v = (ts & !0x3f) | self.to_ts_bits();
        if (v.wrapping_sub(ts) as i32) > 0 {
            v.wrapping_sub(64)
        } else {
            v
        }
    }
}

impl IsnGenerator {
    fn cookie_hash(&self, tuple: &FourTuple, peer_isn: TcpSeqNumber, t: u32, m: u32) -> u32 {
        let mut h = SipHasher24::new_with_keys(self.k0, self.k1);
        write_tuple(&mut h, 2, tuple);
        h.write(&peer_isn.to_u32().to_le_bytes());
        h.write(&[t as u8, m as u8]);
        (h.finish() as u32) & 0x00ff_ffff
    }

    /// The ISN of a SYN cookie for a SYN from `tuple.remote` with sequence `peer_isn`
    /// announcing `peer_mss` (RFC 4987 §3.6).
    pub fn cookie(
        &self,
        now: Instant,
        tuple: &FourTuple,
        peer_isn: TcpSeqNumber,
        peer_mss: u16,
    ) -> TcpSeqNumber {
        let t = ((now / COOKIE_PERIOD) % 32) as u32;
        let m = COOKIE_MSS.iter().rposition(|&v| v <= peer_mss).unwrap_or(0) as u32;
        let h = self.cookie_hash(tuple, peer_isn, t, m);
        TcpSeqNumber::from_u32((t << 27) | (m << 24) | h)
    }

    /// Checks the cookie `isn` (the ACK's acknowledgment number − 1) for `tuple` and the
    /// peer's ISN (its sequence number − 1); gives the MSS it carries when it is ours and
    /// at most two periods old.
    pub fn check_cookie(
        &self,
        now: Instant,
        tuple: &FourTuple,
        peer_isn: TcpSeqNumber,
        isn: TcpSeqNumber,
    ) -> Option<u16> {
        let v = isn.to_u32();
        let t = v >> 27;
        let m = (v >> 24) & 7;
        let cur = ((now / COOKIE_PERIOD) % 32) as u32;
        if (cur + 32 - t) % 32 > 1 {
            return None;
        }
        (self.cookie_hash(tuple, peer_isn, t, m) == v & 0x00ff_ffff).then(|| COOKIE_MSS[m as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::SocketAddr;

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
        // Any split of any message (word-wise and byte-wise paths) hashes the same.
        let msg: Vec<u8> = (0..40).collect();
        for len in 0..msg.len() {
            let mut one = SipHasher24::new_with_keys(k0, k1);
            one.write(&msg[..len]);
            for cut in 0..=len {
                for cut2 in cut..=len {
                    let mut h = SipHasher24::new_with_keys(k0, k1);
                    h.write(&msg[..cut]);
                    h.write(&msg[cut..cut2]);
                    h.write(&msg[cut2..len]);
                    assert_eq!(h.finish(), one.finish(), "{len} split at {cut}, {cut2}");
                }
            }
        }
        let mut h = SipHasher24::new_with_keys(k0, k1);
        h.write(&msg[..8]);
        assert_eq!(
            h.finish(),
            0x93f5_f579_9a93_2462,
            "8 bytes, from the reference table"
        );
    }

    fn tuple(rport: u16) -> FourTuple {
        FourTuple {
            local: "10.0.0.1:80".parse().unwrap(),
            remote: SocketAddr::new("10.0.0.2".parse().unwrap(), rport),
        }
    }

    #[test]
    fn syn_cookie_round_trip_expiry_and_forgery() {
        let g = IsnGenerator::new([7; 16]);
        let peer = TcpSeqNumber::from_u32(12345);
        let now = 1000 * crate::SECONDS;
        let c = g.cookie(now, &tuple(1000), peer, 1400);
        assert_eq!(g.check_cookie(now, &tuple(1000), peer, c), Some(1400));
        assert_eq!(
            g.check_cookie(now + COOKIE_PERIOD, &tuple(1000), peer, c),
            Some(1400),
            "still valid one period later"
        );
        assert_eq!(
            g.check_cookie(now + 2 * COOKIE_PERIOD, &tuple(1000), peer, c),
            None
        );
        assert_eq!(
            g.check_cookie(now, &tuple(1001), peer, c),
            None,
            "other tuple"
        );
        assert_eq!(
            g.check_cookie(now, &tuple(1000), peer + 1, c),
            None,
            "other ISN"
        );
        assert_eq!(
            g.check_cookie(now, &tuple(1000), peer, c + 1),
            None,
            "forged"
        );
        let odd = g.cookie(now, &tuple(1000), peer, 9000);
        assert_eq!(g.check_cookie(now, &tuple(1000), peer, odd), Some(1460));
        let small = g.cookie(now, &tuple(1000), peer, 100);
        assert_eq!(g.check_cookie(now, &tuple(1000), peer, small), Some(536));
        // Options in TSval: round trip, never ahead of the clock.
        let o = CookieOptions {
            window_scale: Some(7),
            sack: true,
        };
        for ts in [0u32, 63, 64, 1000, u32::MAX] {
            let v = o.encode_tsval(ts);
            assert!((ts.wrapping_sub(v) as i32) >= 0 && ts.wrapping_sub(v) < 64);
            assert_eq!(CookieOptions::from_ts_bits(v & 0x3f), o);
        }
        let none = CookieOptions {
            window_scale: None,
            sack: false,
        };
        assert_eq!(CookieOptions::from_ts_bits(none.to_ts_bits()), none);
    }

    #[test]
    fn table_hash_is_keyed_and_spreads_tuples() {
        let a = TableBuildHasher::new([7; 16]);
        let b = TableBuildHasher::new([8; 16]);
        assert_eq!(a.hash_one(tuple(1000)), a.hash_one(tuple(1000)));
        assert_ne!(
            a.hash_one(tuple(1000)),
            b.hash_one(tuple(1000)),
            "not keyed"
        );
        // 65536 tuples that differ in the remote port only: their low 12 bits (a bucket
        // index in a 4096-bucket table) and top 7 bits (hashbrown's tag) both spread.
        let mut low = vec![0u32; 4096];
        let mut top = [0u32; 128];
        for port in 0..=u16::MAX {
            let h = a.hash_one(tuple(port));
            low[(h & 4095) as usize] += 1;
            top[(h >> 57) as usize] += 1;
        }
        // Chi-square against uniform: expected about the degrees of freedom (4095, 127),
        // with a standard deviation of sqrt(2 dof) (90, 16); allow six of them.
        let chi2 = |counts: &[u32]| {
            let e = 65536.0 / counts.len() as f64;
            counts
                .iter()
                .map(|&n| (f64::from(n) - e).powi(2) / e)
                .sum::<f64>()
        };
        let (cl, ct) = (chi2(&low), chi2(&top));
        assert!(cl < 4095.0 + 6.0 * 90.0, "low bits chi2 {cl}");
        assert!(ct < 127.0 + 6.0 * 16.0, "top bits chi2 {ct}");
        // Byte writes: zero padding does not collide.
        let bytes = |v: &[u8]| {
            let mut h = a.build_hasher();
            h.write(v);
            h.finish()
        };
        assert_ne!(bytes(&[1, 2]), bytes(&[1, 2, 0]));
        assert_ne!(bytes(&[]), bytes(&[0]));
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
        assert_eq!(
            g.isn_and_ts_offset(5_000_000, &tuple(1000)),
            (g.isn(5_000_000, &tuple(1000)), g.ts_offset(&tuple(1000)))
        );
        assert_ne!(
            g.ts_offset(&tuple(1000)),
            g.isn(0, &tuple(1000)).to_u32(),
            "the offset is the other half"
        );
    }
}
