//! Buffer pool behaviour: ownership, exhaustion, windows, chains, frames, threads.

use buf::{
    BufferCache, BufferPool, Frame, PoolConfig, CHUNK_SIZE, COLOURS, DATA_SIZE, FRAME_SIZE,
    HEADROOM,
};
use proptest::prelude::*;
use std::sync::Arc;

fn pool(n: u32) -> Arc<BufferPool> {
    BufferPool::new(&PoolConfig::new(n)).unwrap()
}

#[test]
fn alloc_free_accounting() {
    let p = pool(1000);
    let mut c = BufferCache::new(p.clone());
    assert_eq!(p.in_use(), 0);
    let mut f = Frame::new();
    assert_eq!(
        c.alloc_into(&mut f, 300),
        FRAME_SIZE,
        "bounded by the frame"
    );
    assert_eq!(p.in_use(), FRAME_SIZE as u32);
    let one = c.alloc().unwrap();
    assert_eq!(p.in_use(), FRAME_SIZE as u32 + 1);
    c.free(one);
    c.free_frame(&mut f);
    assert!(f.is_empty());
    assert_eq!(p.in_use(), 0);
    drop(c);
    assert_eq!(p.free_count(), 1000);
    assert_eq!(p.cached_count(), 0);
}

#[test]
fn fresh_buffer_is_empty_at_headroom() {
    let p = pool(4);
    let mut c = BufferCache::new(p.clone());
    let mut b = c.alloc().unwrap();
    {
        let pkt = p.get_mut(&mut b);
        let off = pkt.meta().offset();
        assert!(pkt.data().is_empty());
        assert_eq!(pkt.headroom(), off);
        assert!(off >= HEADROOM && (off - HEADROOM).is_multiple_of(64));
        assert!(pkt.tailroom() >= DATA_SIZE);
        assert_eq!(off + pkt.tailroom(), CHUNK_SIZE);
    }
    // Metadata is reset on reuse.
    p.meta_mut(&mut b).rx_if = 7;
    assert!(p.get_mut(&mut b).copy_from(&[1, 2, 3]));
    c.free(b);
    let b = c.alloc().unwrap();
    assert_eq!(p.meta(&b).rx_if, u32::MAX);
    assert_eq!(p.meta(&b).len(), 0);
    c.free(b);
}

#[test]
fn fresh_buffers_spread_over_every_cache_colour() {
    // Consecutive chunks start their data on different cache lines (cache colouring), so a
    // frame's headers do not all fall into one L1 set; every colour keeps the full headroom
    // and DATA_SIZE of tailroom.
    let p = pool(2 * COLOURS as u32);
    let mut c = BufferCache::new(p.clone());
    let mut f = Frame::new();
    assert_eq!(c.alloc_into(&mut f, 2 * COLOURS), 2 * COLOURS);
    let mut lines = std::collections::BTreeSet::new();
    for b in f.as_mut_slice() {
        let chunk = p.chunk_offset(b) as usize;
        let mut pkt = p.get_mut(b);
        assert!(pkt.headroom() >= HEADROOM);
        assert!(pkt.tailroom() >= DATA_SIZE);
        lines.insert((chunk + pkt.headroom()) % CHUNK_SIZE / 64);
        // A copy lands at the same home offset; one too big for it falls back to HEADROOM.
        let home = pkt.headroom();
        assert!(pkt.copy_from(&[1; 60]));
        assert_eq!(pkt.headroom(), home);
        assert!(pkt.copy_from(&vec![2; CHUNK_SIZE - HEADROOM]));
        assert_eq!(pkt.headroom(), HEADROOM);
        p.reset(b);
        assert_eq!(p.get_mut(b).headroom(), home);
    }
    assert_eq!(lines.len(), COLOURS);
    c.free_frame(&mut f);
}

#[test]
fn exhaustion_is_counted_not_fatal() {
    let p = pool(10);
    let mut c = BufferCache::new(p.clone());
    let mut f = Frame::new();
    assert_eq!(c.alloc_into(&mut f, 20), 10);
    assert_eq!(p.stats().alloc_failures(), 10);
    assert!(c.alloc().is_none());
    assert_eq!(p.stats().alloc_failures(), 11);
    c.free_frame(&mut f);
    assert!(c.alloc().map(|b| c.free(b)).is_some());
}

#[test]
fn window_operations_stay_in_bounds() {
    let p = pool(2);
    let mut c = BufferCache::new(p.clone());
    let mut b = c.alloc().unwrap();
    let mut pkt = p.get_mut(&mut b);
    assert!(pkt.copy_from(b"payload"));
    pkt.prepend(14).unwrap().fill(0xee);
    assert_eq!(pkt.data().len(), 21);
    assert_eq!(&pkt.data()[14..], b"payload");
    assert!(pkt.advance(14));
    assert_eq!(pkt.data(), b"payload");
    assert!(!pkt.advance(100), "cannot strip more than the packet");
    let room = pkt.headroom();
    assert!(
        pkt.prepend(room + 1).is_none(),
        "cannot prepend past the headroom"
    );
    pkt.truncate(3);
    assert_eq!(pkt.data(), b"pay");
    assert!(pkt.append(CHUNK_SIZE).is_none());
    assert!(!pkt.set_window(4000, 200));
    assert!(!pkt.copy_from(&[0u8; CHUNK_SIZE]));
    c.free(b);
}

#[test]
fn chains_link_measure_and_free_together() {
    let p = pool(8);
    let mut c = BufferCache::new(p.clone());
    let mut head = c.alloc().unwrap();
    for n in [100usize, 200, 300] {
        let mut t = c.alloc().unwrap();
        p.get_mut(&mut t).append(n).unwrap();
        p.chain(&mut head, t);
    }
    p.get_mut(&mut head).append(50).unwrap();
    assert_eq!(p.chain_len(&head), 650);
    assert_eq!(p.in_use(), 4);
    let second = p.unchain(&mut head).unwrap();
    assert_eq!(p.chain_len(&head), 50);
    assert_eq!(p.chain_len(&second), 600);
    c.free(second);
    assert_eq!(p.in_use(), 1);
    c.free(head);
    assert_eq!(p.in_use(), 0);
}

#[test]
fn frame_drain_partial_keeps_rest_in_order() {
    let p = pool(16);
    let mut c = BufferCache::new(p.clone());
    let mut f = Frame::new();
    c.alloc_into(&mut f, 10);
    let ids: Vec<u32> = f.as_slice().iter().map(|b| b.index()).collect();
    let mut d = f.drain();
    let first = d.next().unwrap();
    let second = d.next().unwrap();
    drop(d);
    assert_eq!(f.len(), 8);
    assert_eq!(first.index(), ids[0]);
    let rest: Vec<u32> = f.as_slice().iter().map(|b| b.index()).collect();
    assert_eq!(rest, ids[2..]);
    c.free(first);
    c.free(second);
    let mut g = Frame::new();
    c.alloc_into(&mut g, 4);
    assert_eq!(g.append(&mut f), 8);
    assert_eq!(g.len(), 12);
    c.free_frame(&mut g);
    assert_eq!(p.in_use(), 0);
}

#[test]
fn frame_push_full_gives_back() {
    let p = pool(FRAME_SIZE as u32 + 1);
    let mut c = BufferCache::new(p.clone());
    let mut f = Frame::new();
    assert_eq!(c.alloc_into(&mut f, FRAME_SIZE), FRAME_SIZE);
    let extra = c.alloc().unwrap();
    let back = f.push(extra).unwrap_err();
    c.free(back);
    c.free_frame(&mut f);
}

#[test]
fn caches_on_threads_share_one_pool() {
    let p = pool(4096);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let p = p.clone();
            std::thread::spawn(move || {
                let mut c = BufferCache::new(p.clone());
                let mut f = Frame::new();
                for round in 0..200u32 {
                    c.alloc_into(&mut f, 200);
                    for b in f.as_mut_slice() {
                        let mut pkt = p.get_mut(b);
                        pkt.meta_mut().opaque[0] = round;
                    }
                    c.free_frame(&mut f);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(p.in_use(), 0);
    assert_eq!(p.free_count(), 4096);
}

#[test]
fn indices_are_unique_across_pools() {
    let a = pool(8);
    let b = pool(8);
    let (mut ca, mut cb) = (BufferCache::new(a.clone()), BufferCache::new(b.clone()));
    let x = ca.alloc().unwrap();
    let y = cb.alloc().unwrap();
    assert_ne!(x.index(), y.index());
    assert_eq!(a.index_at_offset(a.chunk_offset(&x)), Some(x.index()));
    assert_eq!(a.index_at_offset(8 * CHUNK_SIZE as u64), None);
    ca.free(x);
    cb.free(y);
}

#[test]
#[should_panic(expected = "is not from pool")]
fn using_a_buffer_with_the_wrong_pool_panics() {
    let a = pool(8);
    let b = pool(8);
    let mut ca = BufferCache::new(a);
    let x = ca.alloc().unwrap();
    let _ = b.meta(&x).len();
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "double free")]
fn double_free_is_caught_in_debug() {
    let p = pool(8);
    let mut c = BufferCache::new(p);
    let b = c.alloc().unwrap();
    let raw = b.index();
    c.free(b);
    // SAFETY: deliberately wrong (the buffer is already free) to test the debug check; the
    // token is only freed, never used to touch memory.
    let again = unsafe { buf::Buf::from_raw(raw) };
    c.free(again);
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "leaked")]
fn leak_is_caught_in_debug() {
    let p = pool(8);
    let mut c = BufferCache::new(p);
    let b = c.alloc().unwrap();
    drop(b);
}

#[test]
fn bad_pool_sizes_are_refused() {
    assert!(BufferPool::new(&PoolConfig::new(0)).is_err());
    let e = BufferPool::new(&PoolConfig::new(u32::MAX)).unwrap_err();
    assert!(e.to_string().contains("buffers"), "{e}");
}

proptest! {
    /// Any sequence of window operations keeps the window inside the chunk and the bytes
    /// where the model says they are.
    #[test]
    fn window_model(ops in proptest::collection::vec((0u8..5, 0usize..5000), 0..64)) {
        let p = pool(1);
        let mut c = BufferCache::new(p.clone());
        let mut b = c.alloc().unwrap();
        let (mut off, mut len) = (p.meta(&b).offset(), 0usize);
        {
            let mut pkt = p.get_mut(&mut b);
            for (op, n) in ops {
                match op {
                    0 => { let ok = pkt.advance(n); prop_assert_eq!(ok, n <= len); if ok { off += n; len -= n; } }
                    1 => { let ok = pkt.prepend(n).is_some(); prop_assert_eq!(ok, n <= off); if ok { off -= n; len += n; } }
                    2 => { let ok = pkt.append(n).is_some(); prop_assert_eq!(ok, off + len + n <= CHUNK_SIZE); if ok { len += n; } }
                    3 => { pkt.truncate(n); len = len.min(n); }
                    _ => { let ok = pkt.set_window(n, n / 3); prop_assert_eq!(ok, n + n / 3 <= CHUNK_SIZE); if ok { off = n; len = n / 3; } }
                }
                prop_assert_eq!(pkt.meta().offset(), off);
                prop_assert_eq!(pkt.data().len(), len);
                prop_assert_eq!(pkt.headroom() + len + pkt.tailroom(), CHUNK_SIZE);
            }
        }
        c.free(b);
    }
}

proptest! {
    /// Frames behave like a bounded Vec of tokens under push, pop, append and partial drain.
    #[test]
    fn frame_model(ops in proptest::collection::vec((0u8..4, 0usize..300), 0..40)) {
        let p = pool(2048);
        let mut c = BufferCache::new(p.clone());
        let (mut a, mut b) = (Frame::new(), Frame::new());
        let (mut ma, mut mb): (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
        for (op, n) in ops {
            match op {
                0 => {
                    let got = c.alloc_into(&mut b, n);
                    mb.extend(b.as_slice()[b.len() - got..].iter().map(|x| x.index()));
                }
                1 => {
                    let moved = a.append(&mut b);
                    prop_assert_eq!(moved, mb.len().min(FRAME_SIZE - ma.len()));
                    ma.extend(mb.drain(..moved));
                }
                2 => {
                    let mut d = a.drain();
                    for _ in 0..n.min(ma.len()) {
                        let x = d.next().unwrap();
                        prop_assert_eq!(x.index(), ma.remove(0));
                        c.free(x);
                    }
                }
                _ => {
                    if let Some(x) = a.pop() {
                        prop_assert_eq!(Some(x.index()), ma.pop());
                        c.free(x);
                    }
                }
            }
            prop_assert_eq!(a.as_slice().iter().map(|x| x.index()).collect::<Vec<_>>(), ma.clone());
            prop_assert_eq!(b.as_slice().iter().map(|x| x.index()).collect::<Vec<_>>(), mb.clone());
        }
        c.free_frame(&mut a);
        c.free_frame(&mut b);
        prop_assert_eq!(p.in_use(), 0);
    }
}
