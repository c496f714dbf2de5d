//! A transfer whose sequence numbers cross 2^32 (RFC 9293's modular arithmetic): both
//! directions, with and without loss, complete with identical bytes.

mod common;

use common::*;
use stack::isn::IsnGenerator;
use stack::{FourTuple, TcpConfig};

/// A client port whose ISN (A's secret, at the pair's start time) lies within `room` bytes
/// below 2^32, so the transfer wraps early.
fn port_near_wrap(p: &Pair, room: u32) -> u16 {
    let isn = IsnGenerator::new([1; 16]);
    (1024..=u16::MAX)
        .find(|&port| {
            let mut local = p.a_addr;
            local.set_port(port);
            let t = FourTuple {
                local,
                remote: p.b_addr,
            };
            isn.isn(p.now, &t).to_u32().wrapping_neg() < room
        })
        .expect("some port's ISN is near the wrap")
}

fn wraps(link: LinkConfig, seed: u64) {
    let mut p = Pair::new(TcpConfig::default(), link, seed);
    let port = port_near_wrap(&p, 4 << 20);
    p.a_addr.set_port(port);
    let data = pattern(24 << 20, seed);
    let limit = p.now + 3_600 * stack::SECONDS;
    let got = transfer(&mut p, &data, true, limit);
    assert!(got == data, "bytes differ after the wrap");
}

#[test]
fn bulk_transfer_across_the_sequence_wrap() {
    wraps(LinkConfig::default(), 1);
}

#[test]
fn lossy_transfer_across_the_sequence_wrap() {
    wraps(
        LinkConfig {
            loss: 0.02,
            jitter: 5 * stack::MILLIS,
            ..LinkConfig::default()
        },
        2,
    );
}
