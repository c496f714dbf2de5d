//! IPv4 LPM edge cases: /0, /32, the /24 boundary, groups, overlaps, deletes, errors.

use fib::{mask4, Lpm4, RouteError, MAX_VALUE, NO_ROUTE};
use std::net::Ipv4Addr;

fn a(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn lpm(groups: u32) -> Lpm4 {
    Lpm4::new(groups).unwrap()
}

#[test]
fn edges_of_prefix_lengths_and_group_lifecycle() {
    let mut t = lpm(4);
    assert_eq!(t.lookup(a("1.2.3.4")), None, "empty table");

    // /0 matches everything.
    assert_eq!(t.insert(a("0.0.0.0"), 0, 1), Ok(None));
    assert_eq!(t.lookup(a("255.255.255.255")), Some(1));
    assert_eq!(t.lookup(a("0.0.0.0")), Some(1));

    // /24 covers exactly its 256 addresses.
    t.insert(a("10.1.2.0"), 24, 24).unwrap();
    assert_eq!(t.lookup(a("10.1.2.0")), Some(24));
    assert_eq!(t.lookup(a("10.1.2.255")), Some(24));
    assert_eq!(t.lookup(a("10.1.3.0")), Some(1));
    assert_eq!(t.lookup(a("10.1.1.255")), Some(1));

    // /25../32 go into one group under the /24; the rest of the /24 keeps its answer.
    t.insert(a("10.1.2.128"), 25, 25).unwrap();
    t.insert(a("10.1.2.200"), 32, 32).unwrap();
    assert_eq!(t.groups().in_use, 1);
    assert_eq!(t.lookup(a("10.1.2.127")), Some(24));
    assert_eq!(t.lookup(a("10.1.2.128")), Some(25));
    assert_eq!(t.lookup(a("10.1.2.199")), Some(25));
    assert_eq!(t.lookup(a("10.1.2.200")), Some(32));
    assert_eq!(t.lookup(a("10.1.2.201")), Some(25));

    // A shorter prefix added later does not override the longer ones, even inside a group.
    t.insert(a("10.0.0.0"), 8, 8).unwrap();
    assert_eq!(t.lookup(a("10.1.2.200")), Some(32));
    assert_eq!(t.lookup(a("10.1.2.5")), Some(24));
    assert_eq!(t.lookup(a("10.200.0.1")), Some(8));

    // Deleting the /24 restores the /8 below the group, not the /0.
    assert_eq!(t.remove(a("10.1.2.0"), 24), Ok(Some(24)));
    assert_eq!(t.lookup(a("10.1.2.5")), Some(8));
    assert_eq!(t.lookup(a("10.1.2.130")), Some(25));

    // Deleting the /32 restores the /25; deleting the /25 frees the group.
    assert_eq!(t.remove(a("10.1.2.200"), 32), Ok(Some(32)));
    assert_eq!(t.lookup(a("10.1.2.200")), Some(25));
    assert_eq!(t.remove(a("10.1.2.128"), 25), Ok(Some(25)));
    assert_eq!(t.lookup(a("10.1.2.200")), Some(8));
    assert_eq!(
        t.groups().in_use,
        0,
        "the group collapsed back into the root"
    );

    // Re-adding works and replacing returns the old value.
    assert_eq!(t.insert(a("10.1.2.200"), 32, 5), Ok(None));
    assert_eq!(t.insert(a("10.1.2.200"), 32, 6), Ok(Some(5)));
    assert_eq!(t.lookup(a("10.1.2.200")), Some(6));
    assert_eq!(t.get_exact(a("10.1.2.200"), 32), Some(6));
    assert_eq!(t.get_exact(a("10.1.2.200"), 31), None);
    assert_eq!(t.len(), 3);

    // Removing what is not there.
    assert_eq!(t.remove(a("10.1.2.0"), 24), Ok(None));
    assert_eq!(t.remove(a("0.0.0.0"), 0), Ok(Some(1)));
    assert_eq!(t.lookup(a("11.0.0.0")), None);
}

#[test]
fn slash_32_at_both_ends_of_the_space() {
    let mut t = lpm(4);
    t.insert(a("0.0.0.0"), 32, 1).unwrap();
    t.insert(a("255.255.255.255"), 32, 2).unwrap();
    assert_eq!(t.lookup(a("0.0.0.0")), Some(1));
    assert_eq!(t.lookup(a("0.0.0.1")), None);
    assert_eq!(t.lookup(a("255.255.255.255")), Some(2));
    assert_eq!(t.lookup(a("255.255.255.254")), None);
    let tab = t.table();
    let mut out = [0; 4];
    tab.lookup_bulk(&[0, 1, u32::MAX, u32::MAX - 1], &mut out);
    assert_eq!(out, [1, NO_ROUTE, 2, NO_ROUTE]);
    assert_eq!(
        tab.lookup_x4([0, 1, u32::MAX, 7]),
        [1, NO_ROUTE, 2, NO_ROUTE]
    );
}

#[test]
fn group_exhaustion_is_a_typed_error_and_changes_nothing() {
    let mut t = lpm(2);
    t.insert(a("1.0.0.1"), 32, 1).unwrap();
    t.insert(a("1.0.1.1"), 32, 2).unwrap();
    // A third /24 with a long prefix needs a third group.
    assert_eq!(
        t.insert(a("1.0.2.1"), 32, 3),
        Err(RouteError::GroupsExhausted {
            max_groups: 2,
            waiting: 0
        })
    );
    assert_eq!(t.get_exact(a("1.0.2.1"), 32), None);
    assert_eq!(t.lookup(a("1.0.2.1")), None);
    // Prefixes in existing groups and short prefixes still fit.
    t.insert(a("1.0.1.2"), 31, 4).unwrap();
    t.insert(a("2.0.0.0"), 8, 5).unwrap();
    // Freeing a group makes room.
    t.remove(a("1.0.0.1"), 32).unwrap();
    t.insert(a("1.0.2.1"), 32, 3).unwrap();
    assert_eq!(t.lookup(a("1.0.2.1")), Some(3));
}

#[test]
fn freed_groups_wait_for_registered_readers() {
    let mut t = lpm(1);
    let r = t.qsbr().register();
    t.insert(a("1.0.0.1"), 32, 1).unwrap();
    t.remove(a("1.0.0.1"), 32).unwrap();
    assert_eq!(t.groups().waiting, 1);
    assert_eq!(
        t.insert(a("1.0.1.1"), 32, 2),
        Err(RouteError::GroupsExhausted {
            max_groups: 1,
            waiting: 1
        })
    );
    r.quiesce();
    t.insert(a("1.0.1.1"), 32, 2).unwrap();
    assert_eq!(t.groups().waiting, 0);
}

#[test]
fn invalid_input_is_refused() {
    let mut t = lpm(1);
    assert_eq!(
        t.insert(a("1.0.0.0"), 33, 1),
        Err(RouteError::InvalidLength { len: 33, max: 32 })
    );
    assert_eq!(
        t.remove(a("1.0.0.0"), 33),
        Err(RouteError::InvalidLength { len: 33, max: 32 })
    );
    assert_eq!(
        t.insert(a("10.1.2.3"), 8, 1),
        Err(RouteError::HostBitsSet { len: 8 })
    );
    assert_eq!(
        t.insert(a("1.0.0.0"), 8, NO_ROUTE),
        Err(RouteError::ValueOutOfRange(NO_ROUTE))
    );
    assert_eq!(
        t.insert(a("1.0.0.0"), 8, u32::MAX),
        Err(RouteError::ValueOutOfRange(u32::MAX))
    );
    assert_eq!(t.insert(a("1.0.0.0"), 8, MAX_VALUE), Ok(None));
    assert_eq!(t.lookup(a("1.2.3.4")), Some(MAX_VALUE));
    assert_eq!(mask4(a("10.1.2.3"), 8), a("10.0.0.0"));
    assert_eq!(mask4(a("10.1.2.3"), 0), a("0.0.0.0"));
    assert_eq!(mask4(a("10.1.2.3"), 40), a("10.1.2.3"));
    assert!(Lpm4::new(0).is_err());
}

#[test]
fn iter_lists_every_rule_and_memory_is_reported() {
    let mut t = lpm(4);
    t.insert(a("10.0.0.0"), 8, 1).unwrap();
    t.insert(a("10.1.0.0"), 16, 2).unwrap();
    t.insert(a("10.1.1.1"), 32, 3).unwrap();
    let mut rules: Vec<_> = t.iter().collect();
    rules.sort();
    assert_eq!(
        rules,
        [
            (a("10.0.0.0"), 8, 1),
            (a("10.1.0.0"), 16, 2),
            (a("10.1.1.1"), 32, 3)
        ]
    );
    let m = t.memory();
    assert!(m.tables >= 64 << 20, "{m:?}");
    assert!(m.total() > m.tables);
}

/// The bulk form against one lookup at a time, for every batch shape: lengths across the
/// 64-address words and 256-address batches it works in, group entries at every position
/// of a word (first, last, all, none), and `out` shorter or longer than `addrs`.
#[test]
fn bulk_lookups_agree_with_single_lookups_at_every_batch_shape() {
    let mut t = lpm(64);
    // 10.0.k.0/24 → k; 10.0.k.16/28 → 1000 + k for every third k (a group each).
    for k in 0..64u32 {
        t.insert(Ipv4Addr::from(0x0a00_0000 | k << 8), 24, k)
            .unwrap();
        if k % 3 == 0 {
            t.insert(Ipv4Addr::from(0x0a00_0010 | k << 8), 28, 1000 + k)
                .unwrap();
        }
    }
    let tab = t.table();
    let mut r = testkit::rng(7);
    let random: Vec<u32> = (0..1000)
        .map(|_| 0x0a00_0000 | (r() as u32 & 0x3fff))
        .collect();
    let deep = vec![0x0a00_0311; 300]; // all in 10.0.3.16/28
    let shallow = vec![0x0a00_0101; 300]; // all in 10.0.1.0/24 only
    let mut alternating = random.clone();
    for (i, x) in alternating.iter_mut().enumerate() {
        *x = if i % 2 == 0 { 0x0a00_0615 } else { 0x0a00_0701 };
    }
    for addrs in [&random, &deep, &shallow, &alternating] {
        for n in [0, 1, 63, 64, 65, 255, 256, 257, 300] {
            let addrs = &addrs[..n];
            let mut out = vec![u32::MAX - 1; n + 3];
            tab.lookup_bulk(addrs, &mut out);
            for (i, &x) in addrs.iter().enumerate() {
                assert_eq!(out[i], tab.lookup_raw(x), "n {n} i {i} addr {x:#x}");
            }
            assert!(
                out[n..].iter().all(|&o| o == u32::MAX - 1),
                "wrote past addrs"
            );
            if n > 2 {
                let mut short = vec![0; n - 2];
                tab.lookup_bulk(addrs, &mut short);
                assert_eq!(short[..], out[..n - 2]);
            }
        }
    }
    assert_eq!(tab.lookup_raw(0x0a00_0311), 1003);
    assert_eq!(tab.lookup_raw(0x0a00_0301), 3);
}
