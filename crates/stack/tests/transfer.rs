//! Bulk transfers through the simulated link: identical bytes at 0, 10 and 30% loss, with
//! reordering and duplication, both directions, and clean close on both ends.

mod common;

use common::{pattern, transfer, LinkConfig, Pair};
use stack::{TcpConfig, MILLIS, SECONDS};

const MB: usize = 1 << 20;

fn run(loss: f64, jitter: u64, dup: f64, seed: u64, a_to_b: bool, len: usize) {
    let link = LinkConfig {
        latency: 10 * MILLIS,
        jitter,
        loss,
        duplicate: dup,
    };
    let mut p = Pair::new(TcpConfig::default(), link, seed);
    let data = pattern(len, seed);
    let start = p.now;
    let limit = p.now + 20_000 * SECONDS;
    let got = transfer(&mut p, &data, a_to_b, limit);
    println!(
        "loss {loss}: {} bytes in {} ms of virtual time",
        got.len(),
        (p.now - start) / MILLIS
    );
    assert_eq!(got.len(), data.len());
    assert!(got == data, "bytes differ");
}

#[test]
fn one_megabyte_clean_link() {
    run(0.0, 0, 0.0, 1, true, MB);
}

#[test]
fn one_megabyte_reordering_duplicating_link() {
    run(0.0, 15 * MILLIS, 0.05, 2, false, MB);
}

#[test]
fn one_megabyte_ten_percent_loss() {
    run(0.10, 5 * MILLIS, 0.02, 3, true, MB);
}

#[test]
fn one_megabyte_thirty_percent_loss() {
    run(0.30, 5 * MILLIS, 0.02, 4, false, MB);
}

#[test]
fn many_seeds_small_transfers_with_loss() {
    for seed in 10..40 {
        run(0.2, 20 * MILLIS, 0.05, seed, seed % 2 == 0, 50_000);
    }
}
