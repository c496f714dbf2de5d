//! `Lpm6Table::lookup_bulk` (and `lookup_bulk_scattered`, `lookup_slot`) against a naive
//! reference LPM, on random tables and keys: both of its shapes (clustered keys answered by
//! reuse, scattered keys walked side by side), every batch length around the walk's width,
//! after inserts, replacements and deletes.

use fib::{mask6, Lpm6, NO_ROUTE};
use std::collections::HashMap;
use std::net::Ipv6Addr;

use testkit::rng;

/// Rules by length; the longest match by trying every length from 128 down.
#[derive(Default)]
struct Reference {
    by_len: Vec<HashMap<u128, u32>>,
}

impl Reference {
    fn new() -> Reference {
        Reference {
            by_len: (0..=128).map(|_| HashMap::new()).collect(),
        }
    }
    fn lookup(&self, a: u128) -> u32 {
        for l in (0..=128u8).rev() {
            let m = &self.by_len[usize::from(l)];
            if let Some(&v) = m.get(&u128::from(mask6(Ipv6Addr::from(a), l))) {
                return v;
            }
        }
        NO_ROUTE
    }
}

fn u(x: u64, y: u64) -> u128 {
    u128::from(x) << 64 | u128::from(y)
}

/// A random prefix: under one of a few /16s (so that rules nest and share groups), any
/// length, with a bias to the lengths routing tables hold.
fn prefix(r: &mut impl FnMut() -> u64) -> (u128, u8) {
    const BASES: [u128; 4] = [0x2001 << 112, 0x2a00 << 112, 0xfd00 << 112, 0];
    let base = BASES[r() as usize % BASES.len()];
    let len = match r() % 10 {
        0 => (r() % 129) as u8,
        1 => 128,
        2..=4 => 48,
        5 | 6 => 32 + (r() % 33) as u8,
        _ => 16 + (r() % 113) as u8,
    };
    // Keep the base's top 16 bits (or more), so prefixes overlap.
    let shift = 16 + (r() % 32) as u32;
    let a = base ^ (u(r(), r()) >> shift);
    (u128::from(mask6(Ipv6Addr::from(a), len)), len)
}

/// Keys: addresses inside random rules (most), their neighbours, and random addresses.
fn keys(r: &mut impl FnMut() -> u64, rules: &[(u128, u8)], n: usize) -> Vec<u128> {
    (0..n)
        .map(|_| match (r() % 8, rules.is_empty()) {
            (0, _) | (_, true) => u(r(), r()),
            (1, false) => {
                let (k, _) = rules[r() as usize % rules.len()];
                k.wrapping_sub(1)
            }
            _ => {
                let (k, l) = rules[r() as usize % rules.len()];
                let host = if l == 128 { 0 } else { u(r(), r()) >> l };
                k | host
            }
        })
        .collect()
}

/// Runs of one key slot after another (clustered): what a frame of one flow looks like.
fn clustered(r: &mut impl FnMut() -> u64, rules: &[(u128, u8)], n: usize) -> Vec<u128> {
    let mut v = Vec::with_capacity(n);
    while v.len() < n {
        let run = 1 + r() as usize % 40;
        let base = keys(r, rules, 1)[0];
        for h in 0..run.min(n - v.len()) {
            v.push(base ^ (h as u128 & 0xff));
        }
    }
    v
}

fn check(t: &Lpm6, reference: &Reference, keys: &[u128]) {
    let table = t.table();
    // Every batch length up to past two walks, then whole frames.
    let mut at = 0;
    let mut len = 1;
    while at < keys.len() {
        let k = &keys[at..(at + len).min(keys.len())];
        let mut out = vec![0xdead_beef; k.len() + 3];
        table.lookup_bulk(k, &mut out);
        let mut walked = vec![0xdead_beef; k.len() + 3];
        table.lookup_bulk_scattered(k, &mut walked);
        let mut slot = fib::Lpm6Slot::NONE;
        for (i, &a) in k.iter().enumerate() {
            let want = reference.lookup(a);
            assert_eq!(out[i], want, "key {a:#x} (batch of {}, index {i})", k.len());
            assert_eq!(walked[i], want, "walked key {a:#x}");
            assert_eq!(table.lookup_raw(a), want, "single key {a:#x}");
            // A slot answers every key it covers (here: the previous key's, when it does).
            if slot.covers(a) {
                assert_eq!(slot.value(), want, "key {a:#x} under the previous slot");
            }
            slot = table.lookup_slot(a);
            assert!(slot.covers(a));
            assert_eq!(slot.value(), want, "slot of {a:#x}");
        }
        assert_eq!(&out[k.len()..], &[0xdead_beef; 3], "wrote past the keys");
        assert_eq!(
            &walked[k.len()..],
            &[0xdead_beef; 3],
            "walk wrote past the keys"
        );
        at += k.len();
        len = if len < 140 { len + 1 } else { 256 };
    }
}

#[test]
fn bulk_lookup_matches_a_naive_reference_through_inserts_and_deletes() {
    let mut r = rng(0x5eed);
    let mut t = Lpm6::new(1 << 16).unwrap();
    let mut reference = Reference::new();
    let mut rules: Vec<(u128, u8)> = Vec::new();
    for round in 0..4 {
        // Add (or replace) rules.
        for _ in 0..1500 {
            let (k, l) = prefix(&mut r);
            let v = (r() % 100_000) as u32;
            let old = reference.by_len[usize::from(l)].insert(k, v);
            assert_eq!(t.insert(Ipv6Addr::from(k), l, v).unwrap(), old);
            if old.is_none() {
                rules.push((k, l));
            }
        }
        let mut ks = keys(&mut r, &rules, 5_000);
        ks.extend(clustered(&mut r, &rules, 3_000));
        check(&t, &reference, &ks);
        // Delete about half of the rules (all of them in the last round).
        let mut kept = Vec::new();
        for &(k, l) in &rules {
            if round == 3 || r() & 1 == 0 {
                let v = reference.by_len[usize::from(l)].remove(&k);
                assert_eq!(t.remove(Ipv6Addr::from(k), l).unwrap(), v);
            } else {
                kept.push((k, l));
            }
        }
        rules = kept;
        let mut ks = keys(&mut r, &rules, 5_000);
        ks.extend(clustered(&mut r, &rules, 3_000));
        check(&t, &reference, &ks);
    }
    assert!(t.is_empty());
    t.reclaim();
    assert_eq!(t.groups().in_use, 0);
}
