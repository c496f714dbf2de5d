//! BENCH tcp-1m-connections: one million concurrent established TCP connections in one
//! process, between two uplane endpoints in memory (segments handed over as parsed
//! headers, both ends in this process, on one core). Two figures:
//!
//! - time to establish them all (handshakes per second, both ends' work);
//! - heap bytes per idle established connection end, read from a counting global
//!   allocator (every byte the endpoints hold: connection state, the 4-tuple table, the
//!   slot vector, listen/accept queues, timers), not computed from `size_of`. The goal is
//!   at most 1 KiB per connection plus queued data (none here).
//!
//! The count is 1M unless the machine's available memory (a pilot run measures the cost)
//! does not hold it; then the largest count that fits, printed. `TCP_CONNS=n` overrides.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant as WallClock;

use stack::{ConnectionHandle, Endpoint, EndpointConfig, State, MILLIS};
use uplane_benches::report_rate;

/// The system allocator, counting the bytes live.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call forwards to `System` with the caller's arguments unchanged; the
// counter is bookkeeping only.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// Moves every pending segment of `from` into `to`; true if any moved.
fn pump(now: u64, from: &mut Endpoint, to: &mut Endpoint, buf: &mut Vec<u8>) -> bool {
    let mut any = false;
    while let Some(t) = from.poll_transmit(now, buf) {
        to.handle_segment(now, t.tuple.reversed(), &t.repr, &buf[..t.repr.payload_len]);
        any = true;
    }
    any
}

/// Client address number `i`: 10.1.x.y, ports 1024..65535 on each.
fn client(i: usize) -> SocketAddr {
    let per_ip = 65535 - 1024;
    let ip = (i / per_ip) as u32;
    let port = 1024 + (i % per_ip) as u16;
    let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 1, 0, 1)) + ip);
    SocketAddr::new(IpAddr::V4(ip), port)
}

/// Establishes `n` connections; returns (seconds, live heap bytes they added).
fn run(n: usize) -> (f64, isize) {
    let server: SocketAddr = "10.0.0.1:80".parse().unwrap();
    let mut a = Endpoint::new(EndpointConfig {
        secret: [1; 16],
        ..EndpointConfig::default()
    });
    let mut b = Endpoint::new(EndpointConfig {
        secret: [2; 16],
        ..EndpointConfig::default()
    });
    b.listen(server, 4096).unwrap();
    let mut clients: Vec<ConnectionHandle> = Vec::with_capacity(n);
    let mut servers: Vec<ConnectionHandle> = Vec::with_capacity(n);
    let mut buf = Vec::with_capacity(2048);
    let mut now = 1_000_000_000u64;
    let before = live();
    let t = WallClock::now();
    let batch = 1024;
    let mut i = 0;
    while i < n {
        let end = (i + batch).min(n);
        for k in i..end {
            clients.push(a.connect(now, client(k), server).unwrap());
        }
        i = end;
        while pump(now, &mut a, &mut b, &mut buf) | pump(now, &mut b, &mut a, &mut buf) {}
        while let Some(h) = b.accept(server) {
            servers.push(h);
        }
        now += MILLIS;
        for e in [&mut a, &mut b] {
            if e.poll_timeout().is_some_and(|t| t <= now) {
                e.handle_timeout(now);
            }
        }
    }
    let secs = t.elapsed().as_secs_f64();
    // Let the delayed ACKs and anything else pending run out: the connections are idle.
    now += 10 * stack::SECONDS;
    for e in [&mut a, &mut b] {
        e.handle_timeout(now);
    }
    while pump(now, &mut a, &mut b, &mut buf) | pump(now, &mut b, &mut a, &mut buf) {}
    let added = live() - before;
    assert_eq!(servers.len(), n, "every connection accepted");
    assert_eq!(a.connection_count(), n);
    assert_eq!(b.connection_count(), n);
    for (e, hs) in [(&a, &clients), (&b, &servers)] {
        for &h in hs.iter().step_by(997) {
            assert_eq!(e.connection(h).unwrap().state(), State::Established);
        }
    }
    // The handle vectors were sized before `before`; they do not count.
    (secs, added)
}

fn available_bytes() -> Option<u64> {
    let m = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = m.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn main() {
    let wanted = std::env::var("TCP_CONNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000usize);
    // Pilot: the cost of a connection pair, to see whether `wanted` fits in half of the
    // available memory (both ends live in this process).
    let pilot = 20_000;
    let (_, pilot_bytes) = run(pilot);
    let per_pair = (pilot_bytes.max(1) as u64).div_ceil(pilot as u64);
    let n = match available_bytes() {
        Some(avail) if (wanted as u64) * per_pair > avail / 2 => {
            let fit = (avail / 2 / per_pair) as usize;
            println!(
                "note: {wanted} connections need ~{} MiB (pilot {per_pair} B per pair); \
                 {} MiB available; using {fit}",
                (wanted as u64 * per_pair) >> 20,
                avail >> 20
            );
            fit
        }
        _ => wanted,
    };
    let (secs, added) = run(n);
    let per_end = added as f64 / (2 * n) as f64;
    println!(
        "{n} connections established (both ends in process) in {secs:.2} s; \
         heap {:.1} MiB for them",
        added as f64 / f64::from(1 << 20)
    );
    report_rate(
        "tcp-1m-connections-establish",
        "conn/s",
        n as f64 / secs,
        None,
    );
    println!(
        "BENCH tcp-1m-connections: uplane {per_end:.0} bytes/idle connection \
         ({n} connections); goal 1024 bytes/idle connection; ratio {:.2}",
        1024.0 / per_end
    );
}
