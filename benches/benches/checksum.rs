//! BENCH checksum: the Internet checksum over packet-sized buffers, uplane's
//! `wire::checksum::data` against etherparse's `checksum::Sum16BitWords` on the same bytes.
//! `checksum` is 1500 bytes; `checksum-<N>B` the other sizes: headers (20, 64), either side
//! of the size where `data` switches to its dispatched wide path (128, 256), a mid-size
//! payload (576), a full TCP segment (1460) and a jumbo frame (9000).
//!
//! `checksum-copy`: `wire::checksum::copy_and_sum` (copy a payload into a frame and sum it
//! in one pass, as the TCP send path does) against a `copy_from_slice` followed by
//! `data` over the copy, on a 1460-byte payload (a full segment at 1500 MTU).

use std::hint::black_box;
use uplane_benches::{best_of, report_rate};

fn main() {
    for size in [20usize, 64, 128, 256, 576, 1460, 1500, 9000] {
        let data: Vec<u8> = (0..size).map(|i| (i * 7 + 3) as u8).collect();
        let ours_v = wire::checksum::data(&data);
        let theirs_v = etherparse::checksum::Sum16BitWords::new()
            .add_slice(&data)
            .ones_complement();
        // etherparse sums native-endian words; its result's bytes in memory order are the
        // checksum field.
        assert_eq!(
            !ours_v,
            u16::from_be_bytes(theirs_v.to_ne_bytes()),
            "both compute the same checksum"
        );
        let iters = (200_000_000 / size).max(1);
        let t_ours = best_of(5, || {
            let mut acc = 0u16;
            for _ in 0..iters {
                acc ^= wire::checksum::data(black_box(&data));
            }
            black_box(acc);
        });
        let t_theirs = best_of(5, || {
            let mut acc = 0u16;
            for _ in 0..iters {
                acc ^= etherparse::checksum::Sum16BitWords::new()
                    .add_slice(black_box(&data))
                    .ones_complement();
            }
            black_box(acc);
        });
        let bytes = (iters * size) as f64;
        // The headline figure is the full-size packet; the small sizes are headers.
        let name = if size == 1500 {
            "checksum".to_string()
        } else {
            format!("checksum-{size}B")
        };
        report_rate(
            &name,
            "GB/s",
            bytes / t_ours / 1e9,
            Some(("etherparse", bytes / t_theirs / 1e9)),
        );
    }

    let size = 1460;
    let src: Vec<u8> = (0..size).map(|i| (i * 13 + 5) as u8).collect();
    let mut dst = vec![0u8; size + 64];
    assert_eq!(
        wire::checksum::copy_and_sum(&mut dst[54..54 + size], &src),
        wire::checksum::data(&src)
    );
    let iters = 200_000_000 / size;
    let t_fused = best_of(5, || {
        let mut acc = 0u16;
        for _ in 0..iters {
            acc ^= wire::checksum::copy_and_sum(&mut dst[54..54 + size], black_box(&src));
            black_box(&dst);
        }
        black_box(acc);
    });
    let t_two = best_of(5, || {
        let mut acc = 0u16;
        for _ in 0..iters {
            dst[54..54 + size].copy_from_slice(black_box(&src));
            acc ^= wire::checksum::data(black_box(&dst[54..54 + size]));
        }
        black_box(acc);
    });
    let bytes = (iters * size) as f64;
    report_rate(
        "checksum-copy",
        "GB/s",
        bytes / t_fused / 1e9,
        Some(("memcpy+data", bytes / t_two / 1e9)),
    );
}
