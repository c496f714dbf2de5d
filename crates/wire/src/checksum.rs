//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//!
//! Sums are carried as `u16` values that are already folded but **not** complemented, so
//! partial sums over several pieces (pseudo-header, header, payload) combine with
//! [`combine`]; [`finish`] complements at the end. A header whose checksum field is
//! correct sums to `0xffff` over its own bytes, so verification is `data(hdr) == 0xffff`.
//!
//! Below 256 bytes (every header) [`data`] runs inline: native-endian 32-bit words into
//! four 64-bit accumulators, swapped once at the end (RFC 1071 §2(B): the sum is
//! byte-order independent). That removes the carry chain of a 16-bit loop and lets LLVM
//! keep several additions in flight; LLVM turns the lanes into SSE2 (`punpck` + `paddq`).
//! Measured and not kept for it (same build, 1460/1500 bytes): 64-bit words into a `u128`
//! (add/adc) 29.2/26.0 GB/s against 29.1/26.4; 64-bit words with counted carries
//! 33.5/31.4 but 11.1 at 64 bytes against 16.5; eight lanes over 64-byte chunks 19.2/24.0.
//!
//! From 256 bytes on, [`data`] and [`copy_and_sum`] call a wide path that the
//! `multiversion` crate compiles three times from the same safe code (AVX-512F+BW, which
//! it selects only with Ice Lake's other AVX-512 extensions; AVX2; the baseline) and picks
//! at the first call by CPU feature detection, then through a cached function pointer (an
//! atomic load and an indirect call). It adds 128-byte chunks into 32 lanes of 32 bits:
//! each word whole, with wrap-around, into one lane and its upper 16 bits into another,
//! the lower halves' sum being the difference (`wide_add`). With AVX-512 the loop is two
//! 64-byte loads, two `vpaddd`, two `vpsrld` and two `vpaddd` per 128 bytes, no widening
//! shuffle; AVX2 does the same on `ymm` registers (its speed not measured: this CPU takes
//! the AVX-512 clone). The tests below passed on each clone, debug and release builds:
//! AVX-512 natively, AVX2 and the baseline under `qemu-x86_64 -cpu Haswell` and `-cpu
//! Nehalem` (which hide AVX-512, and AVX2, from the detection; qemu's `-d in_asm` log
//! showed the `_avx2_version` and `_default_version` clones running).
//!
//! `checksum` bench, Emerald Rapids, best of 7 runs of each build taken in turn (another
//! benchmark running on the other core), GB/s, before (inline code only) and after this
//! path:
//!
//! | bytes | 20 | 64 | 128 | 256 | 576 | 1460 | 1500 | 9000 |
//! | --- | --- | --- | --- | --- | --- | --- | --- | --- |
//! | before | 7.16 | 16.8 | 22.5 | 27.3 | 30.3 | 32.7 | 33.4 | 32.8 |
//! | after | 7.03 | 15.8 | 22.3 | 29.7 | 47.1 | 69.9 | 68.5 | 93.7 |
//!
//! Under 256 bytes the code is the same as before plus one length test, folded away for a
//! constant length: ip4-input's machine code (20-byte header) is identical before and
//! after, and ip4-forward measures the same (ip4-input 16.2-16.3 against 16.3-16.4
//! clocks/packet). The 64-byte line is 6 % lower in each comparison, but etherparse's
//! figure in the same binaries, its code untouched, fell more (13.0 to 9.6): the bench
//! binary's layout, not the sum. End to end, tcp-bulk-memory (7 runs of each build in turn,
//! best): 34.0 to 37.3 Gbit/s (ratio to smoltcp 1.56 to 1.69), recv-in-place 38.5 to 42.8.
//!
//! The wide path starts at 256 bytes because below it the call and the 32-lane reduction
//! cost more than they save (scratch bench at 128 bytes: 15 GB/s against 20). Measured and
//! not kept for the wide path (scratch bench, AVX-512 clone, 1460/9000 bytes; the kept form
//! 82-85/106-108 there): each word's two halves added into one lane over 64-byte chunks,
//! which LLVM turned into `vpmovzxwd` (a shuffle per 32 bytes), 62/75; the same over
//! 128-byte chunks 74/86; the kept lanes widened to `u64` for the reduction instead of
//! folded in 32 bits 73-77/104-108; the four-lane inline code compiled for AVX-512 26/29; 8
//! or 16 `u64` lanes of 32-bit words 18-21/25-29; 32-bit lanes counting carries with
//! `overflowing_add` 9/9 (not vectorised). LLVM is sensitive to the loop's shape: the kept
//! arithmetic over words built from four indexed bytes came out as byte shuffles (3 GB/s),
//! and the halves added into one lane over `as_chunks` words ran at 8-22 GB/s from 576
//! bytes up (74 over indexed bytes). After changing it, look for the `vpaddd`/`vpsrld` loop
//! in the bench binary (`objdump -d`).

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

/// From this many bytes on, [`data`] and [`copy_and_sum`] take the dispatched wide path
/// ([`wide_sum`], [`wide_copy_and_sum`]); shorter buffers stay on the inline four-lane code
/// ([`narrow_sum`]), which the wide path loses to at 128 bytes and beats at 256 (its call
/// through the dispatch pointer and its 32-lane reduction cost) and which folds to
/// straight-line code for a constant length such as an IPv4 header's 20 bytes.
const WIDE_MIN: usize = 256;

/// How many 128-byte chunks [`wide_sum`] adds into its 32-bit lanes before it reduces them:
/// each lane takes one 16-bit half of a word per chunk, at most `0xffff`, so 65536 chunks
/// (8 MiB) keep every lane's true sum below 2^32.
const WIDE_BLOCK: usize = 65536;

/// Ones'-complement sum of `data` as native-endian 16-bit words, not folded: four 64-bit
/// lanes of 32-bit words over 32-byte chunks (LLVM's SSE2 `punpck` + `paddq`), then
/// fixed-size steps of 16, 8, 4, 2 and 1 bytes for the tail.
#[inline]
fn narrow_sum(data: &[u8]) -> u64 {
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
    // leaves all four together below 2^47 (the wide path calls this for under 128 bytes).
    a + b + c + d
}

/// Adds one 128-byte chunk into the 32 lanes of [`wide_sum`]: `all` takes each 32-bit
/// word with wrap-around, `high` its upper 16 bits. The lower halves' sum is then
/// `all - (high << 16)` modulo 2^32, exact while it stays below 2^32 ([`WIDE_BLOCK`]).
/// Three vector operations per 16 words (add, shift, add) and no widening shuffle.
#[inline(always)]
fn wide_add(chunk: &[u8; 128], all: &mut [u32; 32], high: &mut [u32; 32]) {
    let (words, _) = chunk.as_chunks::<4>();
    for ((a, h), w) in all.iter_mut().zip(high.iter_mut()).zip(words) {
        let w = u32::from_ne_bytes(*w);
        *a = a.wrapping_add(w);
        *h += w >> 16;
    }
}

/// Reduces the lanes of [`wide_sum`] in 32-bit arithmetic: each lane's low and high
/// halves are folded to 17 bits (the same value modulo `0xffff`), so the 32 lanes' total
/// stays below 2^23 with no widening to 64 bits.
#[inline(always)]
fn wide_reduce(all: &[u32; 32], high: &[u32; 32]) -> u64 {
    let mut r = 0u32;
    for (&a, &h) in all.iter().zip(high) {
        let low = a.wrapping_sub(h << 16);
        r += (low & 0xffff) + (low >> 16) + (h & 0xffff) + (h >> 16);
    }
    u64::from(r)
}

/// [`narrow_sum`] for long buffers: 128-byte chunks into 32 lanes of 32 bits
/// ([`wide_add`]), compiled for AVX-512, AVX2 and the baseline, one chosen at the first
/// call by `multiversion` (CPU feature detection, then a cached function pointer). The
/// chunks' remainder (under 128 bytes) goes through [`narrow_sum`].
#[multiversion::multiversion(targets("x86_64+avx512f+avx512bw", "x86_64+avx2"))]
fn wide_sum(data: &[u8]) -> u64 {
    let (chunks, rest) = data.as_chunks::<128>();
    let mut total = 0u64;
    for block in chunks.chunks(WIDE_BLOCK) {
        let (mut all, mut high) = ([0u32; 32], [0u32; 32]);
        for chunk in block {
            wide_add(chunk, &mut all, &mut high);
        }
        total += wide_reduce(&all, &high);
    }
    total + narrow_sum(rest)
}

/// [`wide_sum`] while copying `src` into `dst` (same length), chunk by chunk.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512bw", "x86_64+avx2"))]
fn wide_copy_and_sum(dst: &mut [u8], src: &[u8]) -> u64 {
    let (dchunks, drest) = dst.as_chunks_mut::<128>();
    let (schunks, srest) = src.as_chunks::<128>();
    let mut total = 0u64;
    for (dblock, sblock) in dchunks
        .chunks_mut(WIDE_BLOCK)
        .zip(schunks.chunks(WIDE_BLOCK))
    {
        let (mut all, mut high) = ([0u32; 32], [0u32; 32]);
        for (d, chunk) in dblock.iter_mut().zip(sblock) {
            *d = *chunk;
            wide_add(chunk, &mut all, &mut high);
        }
        total += wide_reduce(&all, &high);
    }
    drest.copy_from_slice(srest);
    total + narrow_sum(srest)
}

/// Ones'-complement sum of `data` taken as big-endian 16-bit words, folded to 16 bits and not
/// complemented. An odd final byte is padded with a zero byte, as RFC 1071 says.
///
/// Always inlined, so the inliner judges the short-buffer code (`narrow_data`) at each
/// call site as it judged this whole function before the wide path existed: inlined
/// where it was (the TCP and IP header sums) rather than called for every header.
#[inline(always)]
pub fn data(data: &[u8]) -> u16 {
    if data.len() < WIDE_MIN {
        narrow_data(data)
    } else {
        u16::from_be(fold64(wide_sum(data)))
    }
}

/// [`data`] under [`WIDE_MIN`] bytes.
#[inline]
fn narrow_data(data: &[u8]) -> u16 {
    u16::from_be(fold64(narrow_sum(data)))
}

/// Copies `src` into `dst` and returns the ones'-complement sum of the bytes, as
/// [`data`] would (folded, not complemented): Linux's `csum_partial_copy` idea, one pass
/// over the bytes instead of a copy and then a checksum that reads them again.
///
/// Used where a segment's payload moves into a frame (the send side), so its checksum
/// comes with the copy. Same lanes, tail and threshold as [`data`]; the result is
/// identical. With the inline lanes only: `checksum-copy` bench, 1460 bytes into a frame
/// in L1, 30.0 GB/s against 24.1 for `copy_from_slice` then [`data`] (the sum, not the
/// copy, is what cost); in tcp-bulk-memory's send path (source in L2) 32.4 against 30.8
/// Gbit/s for glibc's memcpy then `data` over the frame (uplane only, CPU time, 11
/// alternating runs).
///
/// From 256 bytes the wide path's loop copies each 128-byte chunk and adds it into its
/// lanes, but LLVM turns the copies into one `memcpy` per 8 MiB block before summing
/// the source (then in L1): two passes. Forcing one pass (the destination made opaque
/// per chunk with `black_box`, so the stores stay in the loop) measured the same in a
/// scratch bench (39 against 40 GB/s at 1460 bytes, 51 both at 9000), so the plain loop
/// is kept. `checksum-copy` now: 41.1 GB/s against 37.2 for `copy_from_slice` then the
/// wide [`data`] (best of 7; 30.0 against 24.2 before the wide path).
///
/// # Panics
/// If `dst` and `src` differ in length.
#[inline(always)]
pub fn copy_and_sum(dst: &mut [u8], src: &[u8]) -> u16 {
    assert_eq!(dst.len(), src.len(), "copy_and_sum: lengths differ");
    if src.len() < WIDE_MIN {
        narrow_copy_and_sum(dst, src)
    } else {
        u16::from_be(fold64(wide_copy_and_sum(dst, src)))
    }
}

/// [`copy_and_sum`] under [`WIDE_MIN`] bytes (same length checked by the caller): the
/// four lanes of [`narrow_sum`] over 32-byte chunks, each copied as it is summed.
#[inline]
fn narrow_copy_and_sum(dst: &mut [u8], src: &[u8]) -> u16 {
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
    // tail starts at an even offset too: both are unfolded native sums and add directly.
    u16::from_be(fold64(a + b + c + d + narrow_sum(rest)))
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

    #[test]
    fn wide_lanes_hold_a_full_block_of_ones() {
        // All-0xff words are the largest each lane can take: one whole block of
        // `WIDE_BLOCK` chunks must not overflow (65538 would), and a second block must start
        // clean.
        let bytes = vec![0xffu8; WIDE_BLOCK * 128 + 3 * 128 + 131];
        for len in [WIDE_BLOCK * 128, bytes.len()] {
            assert_eq!(data(&bytes[..len]), reference(&bytes[..len]), "len {len}");
        }
        let mut out = vec![0u8; bytes.len()];
        assert_eq!(copy_and_sum(&mut out, &bytes), reference(&bytes));
        assert_eq!(out, bytes);
    }

    proptest! {
        #[test]
        fn dispatched_paths_match_rfc1071(
            bytes in proptest::collection::vec(any::<u8>(), 0..4002),
            len in 0usize..4000,
            odd in any::<bool>(),
        ) {
            // Whatever clone the CPU picked (AVX-512, AVX2 or the baseline) and either side
            // of `WIDE_MIN`, at an even or an odd address, against the 16-bit textbook loop.
            let start = usize::from(odd).min(bytes.len());
            let src = &bytes[start..(start + len).min(bytes.len())];
            let want = reference(src);
            prop_assert_eq!(data(src), want);
            let mut out = vec![0x5au8; src.len() + 1];
            let dst = &mut out[usize::from(!odd)..][..src.len()];
            prop_assert_eq!(copy_and_sum(dst, src), want);
            prop_assert_eq!(&*dst, src);
            // The wide path on its own, below `WIDE_MIN` too (every remainder length).
            prop_assert_eq!(u16::from_be(fold64(wide_sum(src))), want);
            let mut out2 = vec![0u8; src.len()];
            prop_assert_eq!(u16::from_be(fold64(wide_copy_and_sum(&mut out2, src))), want);
            prop_assert_eq!(&out2[..], src);
        }

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
