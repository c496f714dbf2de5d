//! Property tests: random interleavings of inserts and removes, checked after every step
//! against a naive reference (a list of rules, longest match by linear scan).
//!
//! One table per thread is reused across cases (creating the 64 MiB root is the slow part
//! in debug builds); each case ends by removing every rule and checking the table is empty
//! and every group was given back.

use fib::{mask4, mask6, Lpm4, Lpm6, NO_ROUTE};
use proptest::prelude::*;
use std::cell::RefCell;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The reference: rules as (key, len, value), longest match by scan.
fn reference(rules: &[(u128, u8, u32)], bits: u32, addr: u128) -> u32 {
    rules
        .iter()
        .filter(|&&(k, l, _)| l == 0 || (addr ^ k) >> (bits - u32::from(l)) == 0)
        .max_by_key(|&&(_, l, _)| l)
        .map_or(NO_ROUTE, |&(_, _, v)| v)
}

#[derive(Debug, Clone)]
enum Op {
    Insert(u128, u8, u32),
    Remove(u128, u8),
}

/// Operations on addresses clustered in a few regions so that prefixes overlap a lot.
///
/// Prefixes shorter than /16 are rare and /0–/7 absent: each rewrites up to 2^24 root
/// entries, too slow for hundreds of steps in a debug build (the edge tests cover them).
fn ops(bits: u32, regions: Vec<u128>) -> impl Strategy<Value = Vec<Op>> {
    let region = prop::sample::select(regions);
    let len = prop_oneof![1 => 8..=15u8, 30 => 16..=bits as u8];
    let op = (region, any::<u128>(), len, 0u32..1000, any::<bool>()).prop_map(
        move |(base, noise, len, v, add)| {
            // Keep the region's top 8 bits or more, so prefixes nest and overlap.
            let width = bits - 8 - (noise as u32 % 16);
            let key = base ^ (noise >> (128 - width));
            if add {
                Op::Insert(key, len, v)
            } else {
                Op::Remove(key, len)
            }
        },
    );
    prop::collection::vec(op, 1..120)
}

thread_local! {
    static T4: RefCell<Lpm4> = RefCell::new(Lpm4::new(512).unwrap());
    static T6: RefCell<Lpm6> = RefCell::new(Lpm6::new(4096).unwrap());
}

fn probes(rules: &[(u128, u8, u32)], bits: u32, extra: &[u128]) -> Vec<u128> {
    // Each rule's first and last address and their neighbours, plus random ones.
    let mut p: Vec<u128> = extra.to_vec();
    let top = u128::MAX >> (128 - bits);
    for &(k, l, _) in rules {
        let span = if u32::from(l) == bits {
            0
        } else {
            top >> u32::from(l)
        };
        let last = k | span;
        p.extend([k, last, k.wrapping_sub(1) & top, last.wrapping_add(1) & top]);
    }
    p
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn ipv4_matches_the_reference(
        ops in ops(32, vec![0x0a00_0000, 0xc0a8_0000, 0xffff_ff00, 0]),
        extra in prop::collection::vec(any::<u32>(), 16),
    ) {
        T4.with(|t| {
            let mut t = t.borrow_mut();
            let mut rules: Vec<(u128, u8, u32)> = Vec::new();
            for op in ops {
                match op {
                    Op::Insert(k, l, v) => {
                        let p = mask4(Ipv4Addr::from(k as u32), l);
                        let k = u128::from(u32::from(p));
                        let old = rules.iter().position(|r| r.0 == k && r.1 == l);
                        let got = t.insert(p, l, v).unwrap();
                        prop_assert_eq!(got, old.map(|i| rules[i].2));
                        match old {
                            Some(i) => rules[i].2 = v,
                            None => rules.push((k, l, v)),
                        }
                    }
                    Op::Remove(k, l) => {
                        let p = mask4(Ipv4Addr::from(k as u32), l);
                        let k = u128::from(u32::from(p));
                        let old = rules.iter().position(|r| r.0 == k && r.1 == l);
                        prop_assert_eq!(t.remove(p, l).unwrap(), old.map(|i| rules[i].2));
                        if let Some(i) = old {
                            rules.swap_remove(i);
                        }
                    }
                }
                let extra: Vec<u128> = extra.iter().map(|&a| u128::from(a)).collect();
                let probes = probes(&rules, 32, &extra);
                let addrs: Vec<u32> = probes.iter().map(|&a| a as u32).collect();
                let mut bulk = vec![0; addrs.len()];
                t.table().lookup_bulk(&addrs, &mut bulk);
                for (&a, &b) in probes.iter().zip(&bulk) {
                    let want = reference(&rules, 32, a);
                    prop_assert_eq!(t.table().lookup_raw(a as u32), want, "addr {:#x}", a);
                    prop_assert_eq!(b, want, "bulk addr {:#x}", a);
                }
                prop_assert_eq!(t.len(), rules.len());
            }
            for &(k, l, v) in &rules {
                prop_assert_eq!(t.remove(Ipv4Addr::from(k as u32), l).unwrap(), Some(v));
            }
            prop_assert!(t.is_empty());
            prop_assert_eq!(t.groups().in_use, 0);
            prop_assert_eq!(t.lookup(Ipv4Addr::new(10, 0, 0, 1)), None);
            Ok(())
        })?;
    }

    #[test]
    fn ipv6_matches_the_reference(
        ops in ops(128, vec![0x2001_0db8 << 96, 0xfe80 << 112, u128::MAX << 8, 0]),
        extra in prop::collection::vec(any::<u128>(), 16),
    ) {
        T6.with(|t| {
            let mut t = t.borrow_mut();
            let mut rules: Vec<(u128, u8, u32)> = Vec::new();
            for op in ops {
                match op {
                    Op::Insert(k, l, v) => {
                        let k = u128::from(mask6(Ipv6Addr::from(k), l));
                        let old = rules.iter().position(|r| r.0 == k && r.1 == l);
                        prop_assert_eq!(t.insert(Ipv6Addr::from(k), l, v).unwrap(), old.map(|i| rules[i].2));
                        match old {
                            Some(i) => rules[i].2 = v,
                            None => rules.push((k, l, v)),
                        }
                    }
                    Op::Remove(k, l) => {
                        let k = u128::from(mask6(Ipv6Addr::from(k), l));
                        let old = rules.iter().position(|r| r.0 == k && r.1 == l);
                        prop_assert_eq!(t.remove(Ipv6Addr::from(k), l).unwrap(), old.map(|i| rules[i].2));
                        if let Some(i) = old {
                            rules.swap_remove(i);
                        }
                    }
                }
                let probes = probes(&rules, 128, &extra);
                let mut bulk = vec![0; probes.len()];
                t.table().lookup_bulk(&probes, &mut bulk);
                for (&a, &b) in probes.iter().zip(&bulk) {
                    let want = reference(&rules, 128, a);
                    prop_assert_eq!(t.table().lookup_raw(a), want, "addr {:#x}", a);
                    prop_assert_eq!(b, want, "bulk addr {:#x}", a);
                }
            }
            for &(k, l, v) in &rules {
                prop_assert_eq!(t.remove(Ipv6Addr::from(k), l).unwrap(), Some(v));
            }
            prop_assert!(t.is_empty());
            prop_assert_eq!(t.groups().in_use, 0);
            Ok(())
        })?;
    }
}
