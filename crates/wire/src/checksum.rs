//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//!
//! Sums are carried as `u16` values that are already folded but **not** complemented, so
//! partial sums over several pieces (pseudo-header, header, payload) combine with
//! [`combine`]; [`finish`] complements at the end. A header whose checksum field is
//! correct sums to `0xffff` over its own bytes, so verification is `data(hdr) == 0xffff`.
//!
//! [`data`] reads the bytes as native-endian 32-bit words into four 64-bit accumulators and
//! swaps once at the end (RFC 1071 §2(B): the sum is byte-order independent). That removes
//! the carry chain of a 16-bit loop and lets LLVM keep several additions in flight; the
//! `checksum` benchmark measures it against etherparse. LLVM turns the lanes into SSE2
//! (`punpck` + `paddq`, ~31 GB/s at 1500 bytes). Measured and not kept (same build,
//! 1460/1500 bytes): 64-bit words into a `u128` (add/adc) 29.2/26.0 GB/s against 29.1/26.4;
//! 64-bit words with counted carries 33.5/31.4 but 11.1 at 64 bytes against 16.5; eight
//! lanes over 64-byte chunks 19.2/24.0. Wider vectors need AVX2, which the baseline target
//! does not have and runtime dispatch would need `unsafe` here.

use core::net::{Ipv4Addr, Ipv6Addr};

/// Folds a wide ones'-complement accumulator into 16 bits with end-around carry: two
/// add-with-carry steps (64 to 32, 32 to 16).
#[inline]
fn fold64(acc: u64) -> u16 {
    // After a carry out the low sum is at most 2^n - 2, so adding the carry cannot overflow.
    let (s, c) = (acc as u32).overflowing_add((acc >> 32) as u32);
    let x = s.wrapping_add(u32::from(c));
    let (s, c) = (x as u16).overflowing_add((x >> 16) as u16);
    s.wrapping_add(u16::from(c))
}

#[inline]
fn ne32(b: &[u8], at: usize) -> u64 {
    u64::from(u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]))
}

/// Ones'-complement sum of `data` taken as big-endian 16-bit words, folded to 16 bits and not
/// complemented. An odd final byte is padded with a zero byte, as RFC 1071 says.
#[inline]
pub fn data(data: &[u8]) -> u16 {
    let (mut a, mut b, mut c, mut d) = (0u64, 0u64, 0u64, 0u64);
    let mut chunks = data.chunks_exact(32);
    for ch in &mut chunks {
        a += ne32(ch, 0) + ne32(ch, 16);
        b += ne32(ch, 4) + ne32(ch, 20);
        c += ne32(ch, 8) + ne32(ch, 24);
        d += ne32(ch, 12) + ne32(ch, 28);
    }
    // The tail (under 32 bytes: every IPv4 header, every TCP/UDP header) without a loop
    // over a variable-length copy: fixed-size steps of 16, 8, 4, 2 and 1 bytes. Native
    // 16-bit words fold consistently with native 32-bit words (both are sums of the same
    // byte pairs modulo 2^16 - 1).
    let mut rest = chunks.remainder();
    if rest.len() >= 16 {
        a += ne32(rest, 0) + ne32(rest, 8);
        b += ne32(rest, 4) + ne32(rest, 12);
        rest = &rest[16..];
    }
    if rest.len() >= 8 {
        c += ne32(rest, 0);
        d += ne32(rest, 4);
        rest = &rest[8..];
    }
    if rest.len() >= 4 {
        a += ne32(rest, 0);
        rest = &rest[4..];
    }
    if rest.len() >= 2 {
        b += u64::from(u16::from_ne_bytes([rest[0], rest[1]]));
        rest = &rest[2..];
    }
    if let [last] = rest {
        c += u64::from(u16::from_ne_bytes([*last, 0]));
    }
    // No lane overflows: each gains at most 2^33 per 32 bytes, so even a 64 KiB packet
    // leaves all four together below 2^47.
    let sum_ne = fold64(a + b + c + d);
    u16::from_be(sum_ne)
}

/// Copies `src` into `dst` and returns the ones'-complement sum of the bytes, as
/// [`data`] would (folded, not complemented): Linux's `csum_partial_copy` idea, one pass
/// over the bytes instead of a copy and then a checksum that reads them again.
///
/// Used where a segment's payload moves into a frame (the send side), so its checksum
/// comes with the copy. Same lanes and tail as [`data`]; the result is identical.
/// `checksum-copy` bench, 1460 bytes into a frame in L1: 30.0 GB/s against 24.1 for
/// `copy_from_slice` then [`data`] (the sum, not the copy, is what costs). In
/// tcp-bulk-memory's send path (source in L2): 32.4 against 30.8 Gbit/s for glibc's
/// memcpy then `data` over the frame (uplane only, CPU time, 11 alternating runs).
///
/// # Panics
/// If `dst` and `src` differ in length.
#[inline]
pub fn copy_and_sum(dst: &mut [u8], src: &[u8]) -> u16 {
    assert_eq!(dst.len(), src.len(), "copy_and_sum: lengths differ");
    let (mut a, mut b, mut c, mut d) = (0u64, 0u64, 0u64, 0u64);
    let mut dch = dst.chunks_exact_mut(32);
    let mut sch = src.chunks_exact(32);
    for (dc, sc) in (&mut dch).zip(&mut sch) {
        let Ok(ch) = <&[u8; 32]>::try_from(sc) else {
            break;
        };
        dc.copy_from_slice(ch);
        a += ne32(ch, 0) + ne32(ch, 16);
        b += ne32(ch, 4) + ne32(ch, 20);
        c += ne32(ch, 8) + ne32(ch, 24);
        d += ne32(ch, 12) + ne32(ch, 28);
    }
    let rest = sch.remainder();
    dch.into_remainder().copy_from_slice(rest);
    // The bulk was summed as native-endian words at even offsets (32-byte chunks), the
    // tail starts at an even offset too: the two folded sums add directly.
    let bulk = u16::from_be(fold64(a + b + c + d));
    fold64(u64::from(bulk) + u64::from(data(rest)))
}

/// The sum of a piece that starts at an odd offset of the data it belongs to: its bytes
/// sit in the other halves of the 16-bit words, so its folded sum is byte-swapped
/// (RFC 1071 §2(B)). Combine the result with [`combine`].
#[inline]
pub fn at_odd_offset(sum: u16) -> u16 {
    sum.rotate_left(8)
}

/// Adds 16-bit partial sums with end-around carry.
#[inline]
pub fn combine(sums: &[u16]) -> u16 {
    fold64(sums.iter().map(|&s| u64::from(s)).sum())
}

/// Turns a folded sum into the value written into a checksum field.
#[inline]
pub fn finish(sum: u16) -> u16 {
    !sum
}

/// Sum of the IPv4 pseudo-header (RFC 793 §3.1 / RFC 768) for a transport segment of
/// `length` bytes.
#[inline]
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u16) -> u16 {
    let s = src.to_bits();
    let d = dst.to_bits();
    let acc = u64::from(s >> 16)
        + u64::from(s & 0xffff)
        + u64::from(d >> 16)
        + u64::from(d & 0xffff)
        + u64::from(protocol)
        + u64::from(length);
    fold64(acc)
}

/// Sum of the IPv6 pseudo-header (RFC 8200 §8.1) for an upper-layer packet of `length`
/// bytes.
#[inline]
pub fn pseudo_header_v6(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, length: u32) -> u16 {
    let mut acc = u64::from(next_header) + u64::from(length >> 16) + u64::from(length & 0xffff);
    for seg in src.segments().into_iter().chain(dst.segments()) {
        acc += u64::from(seg);
    }
    fold64(acc)
}

/// RFC 1624 eqn. 3: the new checksum field after one 16-bit word of the covered data
/// changed from `old` to `new`: `HC' = ~(~HC + ~m + m')`.
///
/// Unlike eqn. 2 this never produces `0x0000` from a non-zero sum, so it is safe for the
/// IPv4 header checksum (TTL decrement) as well as for TCP/UDP ports and addresses.
#[inline]
pub fn update(checksum: u16, old: u16, new: u16) -> u16 {
    !fold64(u64::from(!checksum) + u64::from(!old) + u64::from(new))
}

/// [`update`] for a 32-bit field (an IPv4 address) that changed from `old` to `new`.
#[inline]
pub fn update32(checksum: u16, old: u32, new: u32) -> u16 {
    let acc = u64::from(!checksum)
        + u64::from(!(old >> 16) as u16)
        + u64::from(!(old as u16))
        + u64::from((new >> 16) as u16)
        + u64::from(new as u16);
    !fold64(acc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The textbook loop, for comparison.
    fn reference(bytes: &[u8]) -> u16 {
        let mut acc: u32 = 0;
        for pair in bytes.chunks(2) {
            let w = if pair.len() == 2 {
                u16::from_be_bytes([pair[0], pair[1]])
            } else {
                u16::from_be_bytes([pair[0], 0])
            };
            acc += u32::from(w);
            acc = (acc & 0xffff) + (acc >> 16);
        }
        acc as u16
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        assert_eq!(
            data(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
    }

    #[test]
    fn real_ipv4_header_verifies() {
        // First IPv4 header of zeek_wikipedia.pcap (frame 1, DNS query).
        let hdr = [
            0x45, 0x00, 0x00, 0x3e, 0x4f, 0x0b, 0x00, 0x00, 0x80, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x03, 0x83, 0xc0, 0xa8, 0x03, 0x01,
        ];
        let mut h = hdr;
        let c = finish(data(&h));
        h[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(data(&h), 0xffff);
    }

    #[test]
    fn empty_and_odd() {
        assert_eq!(data(&[]), 0);
        assert_eq!(data(&[0xab]), 0xab00);
        assert_eq!(data(&[0xff; 3]), reference(&[0xff; 3]));
    }

    #[test]
    fn incremental_ttl_decrement_matches_full_recompute() {
        let mut h = [
            0x45u8, 0x00, 0x00, 0x54, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x01, 0x00, 0x00, 0x0a, 0x01,
            0x00, 0x02, 0x0a, 0x02, 0x00, 0x02,
        ];
        let c = finish(data(&h));
        h[10..12].copy_from_slice(&c.to_be_bytes());
        let old = u16::from_be_bytes([h[8], h[9]]);
        h[8] -= 1;
        let new = u16::from_be_bytes([h[8], h[9]]);
        let inc = update(c, old, new);
        h[10..12].copy_from_slice(&[0, 0]);
        assert_eq!(inc, finish(data(&h)));
    }

    proptest! {
        #[test]
        fn matches_reference(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
            prop_assert_eq!(data(&bytes), reference(&bytes));
        }

        #[test]
        fn split_sums_combine(bytes in proptest::collection::vec(any::<u8>(), 0..600), cut in 0usize..300) {
            let cut = (cut * 2).min(bytes.len() & !1);
            let (x, y) = bytes.split_at(cut);
            prop_assert_eq!(combine(&[data(x), data(y)]), reference(&bytes));
        }

        #[test]
        fn copy_and_sum_copies_and_matches_reference(
            bytes in proptest::collection::vec(any::<u8>(), 0..3100),
            src_off in 0usize..40,
            dst_off in 0usize..40,
        ) {
            // Odd and even lengths, and every alignment of source and destination.
            let src = &bytes[src_off.min(bytes.len())..];
            let mut out = vec![0xa5u8; src.len() + dst_off + 7];
            let s = copy_and_sum(&mut out[dst_off..dst_off + src.len()], src);
            prop_assert_eq!(s, reference(src));
            prop_assert_eq!(s, data(src));
            prop_assert_eq!(&out[dst_off..dst_off + src.len()], src);
            prop_assert!(out[..dst_off].iter().all(|&b| b == 0xa5), "wrote before dst");
            prop_assert!(out[dst_off + src.len()..].iter().all(|&b| b == 0xa5), "wrote after dst");
        }

        #[test]
        fn pieces_at_any_offset_combine(bytes in proptest::collection::vec(any::<u8>(), 0..600), cut in 0usize..600) {
            // A piece that starts at an odd offset is swapped before combining.
            let cut = cut.min(bytes.len());
            let (x, y) = bytes.split_at(cut);
            let ys = if cut % 2 == 1 { at_odd_offset(data(y)) } else { data(y) };
            let whole = reference(&bytes);
            let parts = combine(&[data(x), ys]);
            // Same value modulo 0xffff (ones'-complement has two zeros) ...
            prop_assert_eq!(u32::from(parts) % 0xffff, u32::from(whole) % 0xffff);
            // ... and identical once a non-zero sum (a pseudo-header's) is added.
            prop_assert_eq!(combine(&[0x1234, data(x), ys]), combine(&[0x1234, whole]));
        }

        #[test]
        fn incremental_equals_recompute(mut bytes in proptest::collection::vec(any::<u8>(), 2..200),
                                        word in 0usize..100, new in any::<u16>()) {
            // Ones'-complement has two zeros; compare as sums mod 0xffff.
            let len = bytes.len() & !1;
            let at = (word * 2) % len;
            let c = finish(data(&bytes[..len]));
            let old = u16::from_be_bytes([bytes[at], bytes[at + 1]]);
            bytes[at..at + 2].copy_from_slice(&new.to_be_bytes());
            let full = finish(data(&bytes[..len]));
            let inc = update(c, old, new);
            prop_assert_eq!(u32::from(inc) % 0xffff, u32::from(full) % 0xffff);
        }

        #[test]
        fn incremental32_equals_two_updates(c in any::<u16>(), old in any::<u32>(), new in any::<u32>()) {
            let two = update(update(c, (old >> 16) as u16, (new >> 16) as u16), old as u16, new as u16);
            prop_assert_eq!(u32::from(update32(c, old, new)) % 0xffff, u32::from(two) % 0xffff);
        }
    }
}
