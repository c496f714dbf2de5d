//! BENCH checksum: the Internet checksum over packet-sized buffers, uplane's
//! `wire::checksum::data` against etherparse's `checksum::Sum16BitWords` on the same bytes.

use std::hint::black_box;
use uplane_benches::{best_of, report_rate};

fn main() {
    for size in [20usize, 64, 1500] {
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
}
