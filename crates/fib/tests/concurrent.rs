//! One writer adds and removes routes while reader threads look up without locks: every
//! answer must be one a consistent table could give (old or new), never garbage, even
//! though the few groups are freed and reused all the time.

use fib::{Lpm4, Lpm6, NO_ROUTE};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

const SUBNETS: u32 = 64;
const OPS: u32 = 20_000;
const READERS: usize = 2;

/// Value of a route: which /24 (or /48) it belongs to and its length.
fn val(idx: u32, len: u32) -> u32 {
    idx << 8 | len
}

/// Whether `v` is a possible answer for host `h` of subnet `idx`.
fn allowed(v: u32, idx: u32, h: u32) -> bool {
    v == 8 || v == val(idx, 24) || (h == 5 && (v == val(idx, 28) || v == val(idx, 32)))
}

use testkit::rng;

#[test]
fn ipv4_readers_see_old_or_new_never_garbage() {
    // 8 groups for 64 subnets: long prefixes come and go and groups are reused constantly.
    let mut lpm = Lpm4::new(8).unwrap();
    lpm.insert(Ipv4Addr::new(10, 0, 0, 0), 8, 8).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let lookups = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let table = lpm.table();
            let reader = lpm.qsbr().register();
            let (stop, lookups) = (stop.clone(), lookups.clone());
            std::thread::spawn(move || {
                let addrs: Vec<u32> = (0..SUBNETS)
                    .flat_map(|i| [5, 200].map(|h| u32::from_be_bytes([10, 0, i as u8, h])))
                    .collect();
                let mut out = vec![0; addrs.len()];
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    table.lookup_bulk(&addrs, &mut out);
                    for (&a, &v) in addrs.iter().zip(&out) {
                        let (idx, h) = ((a >> 8) & 0xff, a & 0xff);
                        assert!(allowed(v, idx, h), "{} -> {v:#x}", Ipv4Addr::from(a));
                        let single = table.lookup_raw(a);
                        assert!(
                            allowed(single, idx, h),
                            "{} -> {single:#x}",
                            Ipv4Addr::from(a)
                        );
                    }
                    n += addrs.len() as u64;
                    reader.quiesce();
                }
                lookups.fetch_add(n, Ordering::Relaxed);
            })
        })
        .collect();

    let mut r = rng(3);
    let mut exhausted = 0;
    for _ in 0..OPS {
        let x = r();
        let idx = (x % u64::from(SUBNETS)) as u32;
        let (len, host) = [(24, 0), (28, 0), (32, 5)][(x >> 8) as usize % 3];
        let p = Ipv4Addr::new(10, 0, idx as u8, host);
        if x >> 16 & 1 == 0 {
            match lpm.insert(p, len, val(idx, u32::from(len))) {
                Ok(_) => {}
                Err(fib::RouteError::GroupsExhausted { .. }) => exhausted += 1,
                Err(e) => panic!("{e}"),
            }
        } else {
            lpm.remove(p, len).unwrap();
        }
        if x >> 20 & 63 == 0 {
            std::thread::yield_now();
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in readers {
        t.join().unwrap();
    }
    assert!(lookups.load(Ordering::Relaxed) > 0);
    assert!(exhausted < OPS, "some long prefixes got in");
    assert_eq!(
        lpm.qsbr().readers(),
        0,
        "reader handles deregistered on drop"
    );
    assert_eq!(lpm.lookup(Ipv4Addr::new(11, 0, 0, 0)), None);
}

#[test]
fn ipv6_readers_see_old_or_new_never_garbage() {
    let mut lpm = Lpm6::new(16).unwrap();
    let base: u128 = 0x2001_0db8 << 96;
    lpm.insert(Ipv6Addr::from(base), 8, 8).unwrap_err(); // host bits: refused
    lpm.insert(Ipv6Addr::from(0x2000 << 112), 8, 8).unwrap();
    let addr = move |idx: u32, h: u32| base | u128::from(idx) << 80 | u128::from(h);
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let table = lpm.table();
            let reader = lpm.qsbr().register();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let addrs: Vec<u128> = (0..SUBNETS)
                    .flat_map(|i| [addr(i, 5), addr(i, 200)])
                    .collect();
                let mut out = vec![0; addrs.len()];
                let mut round = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    // Both shapes of the bulk lookup: one by one with answer reuse, and
                    // the walk side by side (which reads groups as they are freed too).
                    if round & 1 == 0 {
                        table.lookup_bulk(&addrs, &mut out);
                    } else {
                        table.lookup_bulk_scattered(&addrs, &mut out);
                    }
                    round += 1;
                    for (&a, &v) in addrs.iter().zip(&out) {
                        let (idx, h) = ((a >> 80) as u32 & 0xffff, a as u32);
                        assert!(v != NO_ROUTE && allowed(v, idx, h), "{a:#x} -> {v:#x}");
                    }
                    reader.quiesce();
                }
            })
        })
        .collect();
    let mut r = rng(4);
    for _ in 0..OPS {
        let x = r();
        let idx = (x % u64::from(SUBNETS)) as u32;
        // A /48 per subnet ("24"), a /124 ("28") and a /128 ("32") inside it.
        let (len, host, tag) = [(48, 0, 24), (124, 0, 28), (128, 5, 32)][(x >> 8) as usize % 3];
        let p = Ipv6Addr::from(addr(idx, host));
        if x >> 16 & 1 == 0 {
            match lpm.insert(p, len, val(idx, tag)) {
                Ok(_) | Err(fib::RouteError::GroupsExhausted { .. }) => {}
                Err(e) => panic!("{e}"),
            }
        } else {
            lpm.remove(p, len).unwrap();
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in readers {
        t.join().unwrap();
    }
}
