//! 2 million IPv4 and 1 million IPv6 routes load and look up correctly.
//!
//! IPv4 prefixes follow a BGP-like length mix (per mille: /8–/15 3, /16 15, /17 8, /18 15,
//! /19 30, /20 50, /21 50, /22 120, /23 100, /24 600, /25–/32 9) at random addresses in
//! 1.0.0.0–223.255.255.255. IPv6 prefixes are grouped like RIR allocations: random /32s
//! within 2000::/3, each holding its own /32 and ~30 more-specifics numbered from the
//! start of the allocation (mostly /48s, then /44, /40, /36, a few /56 and /64).

use fib::{Lpm4, Lpm6, DEFAULT_GROUPS4, DEFAULT_GROUPS6};
use std::net::{Ipv4Addr, Ipv6Addr};

use testkit::rng;

fn len4(x: u64) -> u8 {
    const MIX: [(u64, u8); 10] = [
        (3, 0),
        (18, 16),
        (26, 17),
        (41, 18),
        (71, 19),
        (121, 20),
        (171, 21),
        (291, 22),
        (391, 23),
        (991, 24),
    ];
    let m = x % 1000;
    match MIX.iter().find(|&&(up, _)| m < up) {
        Some(&(_, 0)) => 8 + (x >> 10) as u8 % 8,
        Some(&(_, l)) => l,
        None => 25 + (x >> 10) as u8 % 8,
    }
}

fn check_sample(
    rules: &[(u128, u8)],
    bits: u32,
    lookup: impl Fn(u128) -> Option<u32>,
    exact: impl Fn(u128, u8) -> Option<u32>,
) {
    // The answer for a rule's first address is a rule (by value) that covers it and is at
    // least as long; the property tests check exact longest-match on small tables.
    for (i, &(k, l)) in rules.iter().enumerate().step_by(7) {
        let v = lookup(k).unwrap_or_else(|| panic!("rule {i} {k:#x}/{l} has no route"));
        let (rk, rl) = rules[v as usize];
        assert!(
            rl >= l,
            "rule {i} {k:#x}/{l} answered by the shorter {rk:#x}/{rl}"
        );
        let span = bits - u32::from(rl);
        assert_eq!(k >> span, rk >> span, "answer does not cover the address");
        assert_eq!(exact(rk, rl), Some(v));
    }
}

#[test]
fn two_million_ipv4_routes() {
    let mut t = Lpm4::new(DEFAULT_GROUPS4).unwrap();
    let mut r = rng(42);
    let mut rules: Vec<(u128, u8)> = Vec::with_capacity(2_100_000);
    while t.len() < 2_000_000 {
        let x = r();
        let l = len4(x);
        let a = 0x0100_0000 + (x >> 32) as u32 % 0xDF00_0000;
        let p = fib::mask4(Ipv4Addr::from(a), l);
        if t.get_exact(p, l).is_none() {
            t.insert(p, l, rules.len() as u32).unwrap();
            rules.push((u128::from(u32::from(p)), l));
        }
    }
    assert_eq!(t.len(), 2_000_000);
    check_sample(
        &rules,
        32,
        |k| t.lookup(Ipv4Addr::from(k as u32)),
        |k, l| t.get_exact(Ipv4Addr::from(k as u32), l),
    );
    let m = t.memory();
    eprintln!("2M IPv4 routes: {:?}, {:?}", t.groups(), m);
    assert!(m.tables < 200 << 20, "{m:?}");
}

#[test]
fn one_million_ipv6_routes() {
    let mut t = Lpm6::new(DEFAULT_GROUPS6).unwrap();
    let mut r = rng(7);
    let mut rules: Vec<(u128, u8)> = Vec::with_capacity(1_100_000);
    let push = |t: &mut Lpm6, k: u128, l: u8, rules: &mut Vec<(u128, u8)>| {
        let p = fib::mask6(Ipv6Addr::from(k), l);
        if t.get_exact(p, l).is_none() {
            t.insert(p, l, rules.len() as u32).unwrap();
            rules.push((u128::from(p), l));
        }
    };
    while t.len() < 1_000_000 {
        let x = r();
        let alloc = (0x2000_0000u128 | u128::from((x >> 35) as u32)) << 96; // random /32 in 2000::/3
        push(&mut t, alloc, 32, &mut rules);
        for j in 0..30u128 {
            let y = r();
            let l = match y % 100 {
                0..=59 => 48,
                60..=69 => 44,
                70..=79 => 40,
                80..=84 => 36,
                85..=94 => 56,
                _ => 64,
            };
            // Assigned from the start of the allocation, as registries and ISPs do.
            let sub = j + u128::from(y >> 60);
            push(&mut t, alloc | sub << (128 - l), l, &mut rules);
            if t.len() >= 1_000_000 {
                break;
            }
        }
    }
    check_sample(
        &rules,
        128,
        |k| t.lookup(Ipv6Addr::from(k)),
        |k, l| t.get_exact(Ipv6Addr::from(k), l),
    );
    let m = t.memory();
    eprintln!("1M IPv6 routes: {:?}, {:?}", t.groups(), m);
}
