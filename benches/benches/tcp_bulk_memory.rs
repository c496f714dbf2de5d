//! BENCH tcp-bulk-memory: bulk TCP throughput between two uplane stacks in memory on one
//! core (whole Ethernet frames: ARP, IP and TCP headers, checksums, the socket API),
//! against a smoltcp 0.12 pair moving the same bytes over the same kind of link in the
//! same run. Both sides get 256 KiB socket buffers and window scaling; frames go straight
//! from one stack to the other (no loss), on a virtual clock.
//!
//! Where uplane's time goes (perf, cpu-clock, `TCP_BULK_ONLY_UPLANE=1`, after receive
//! header prediction, word-wise IPv4/TCP headers on both paths and one queued readiness
//! event per connection): 44% in glibc memmove, of which the application's copies into
//! the send buffer ~16% and out of the receive buffer ~13%, the copy inside
//! `wire::checksum::copy_and_sum` into each frame ~10%, the receive buffer's append ~5%;
//! 10% summing in `copy_and_sum` and 9% verifying the checksum on receive. The rest
//! (~33%) is protocol work: the send path inlined into `Interface::poll_transmit` 13.5%
//! and `Connection::send_at_nxt` 3.7%; on receive `IpHost::handle_tcp4` 3.6%,
//! `Interface::handle_frame` 2.9%, `Endpoint::after` 2.3%, `Connection::handle_segment`
//! 1.9%; nothing else above 2%. Both stacks do the same copies and checksums (AVX-512
//! where the CPU has it), so those ~64% of the time bound the ratio: even free protocol
//! work would leave it near 3 with this copy API.
//!
//! That bound is measured in the run and printed as `limit:` ([`copies_once`]): the same
//! bytes through the same buffers with only the copies and checksums, no protocol. Its
//! rate over smoltcp's is the ratio uplane would reach if its protocol work cost nothing
//! (first run, SSE2 checksums: 56.5 Gbit/s, a ceiling of 2.58 against smoltcp's 21.9,
//! uplane 34.4 and spending 61% of its time on those bytes; after the AVX-512 checksum
//! and the per-segment work above, two runs: 63.6-64.5 Gbit/s, a ceiling of 2.89-2.95,
//! uplane 44.7-46.7 (ratio 2.04-2.14) and spending 70-72% of its time on those bytes).
//!
//! `tcp-bulk-memory-recv-in-place`: the same transfer with the receiving application
//! reading in place (uplane's `Stack::tcp_recv_with`, smoltcp's `recv` with a closure):
//! the bytes are consumed where they lie in the socket buffer, on both sides; the sender
//! still copies into its socket buffer with `tcp_send` / `send_slice` on both sides
//! (uplane's send buffer cannot lend uninitialised room without a zero fill). The
//! headline `tcp-bulk-memory` figure stays the copy API.

#[path = "../../crates/stack/tests/smol/mod.rs"]
mod smol;

use std::hint::black_box;

use smoltcp::wire::IpAddress;
use stack::iface::{Interface, InterfaceConfig};
use stack::socket::{SocketError, Stack};
use uplane_benches::{best_of, report_rate};

const BYTES: usize = 256 << 20;
const BUFFER: usize = 256 * 1024;
const US: u64 = 1_000;

fn ours_once(data: &[u8], in_place: bool) {
    let cfg = |mac: u8, ip: &str| {
        let mut c = InterfaceConfig::new([2, 0, 0, 0, 0, mac]);
        c.ipv4 = Some((ip.parse().unwrap(), 24));
        c.endpoint.secret = [mac; 16];
        Stack::new(Interface::new(c))
    };
    let (mut a, mut b) = (cfg(1, "10.0.0.1"), cfg(2, "10.0.0.2"));
    let mut now = 1_000_000_000u64;
    let l = b.tcp_listen("10.0.0.2:80".parse().unwrap(), 4).unwrap();
    let c = a.tcp_connect(now, "10.0.0.2:80".parse().unwrap()).unwrap();
    let mut frame = vec![0u8; 1600];
    let mut rbuf = vec![0u8; 65536];
    let (mut sent, mut got) = (0usize, 0usize);
    let mut srv = None;
    while got < BYTES {
        while sent < BYTES {
            let end = (sent + 65536).min(BYTES);
            match a.tcp_send(c, &data[sent % (1 << 20)..][..end - sent]) {
                Ok(n) => sent += n,
                Err(SocketError::WouldBlock) => break,
                Err(e) => panic!("{e}"),
            }
        }
        while let Some(n) = a.poll_transmit(now, &mut frame) {
            b.handle_frame(now, &frame[..n]);
        }
        if srv.is_none() {
            srv = b.tcp_accept(l).ok().map(|x| x.0);
        }
        if let Some(s) = srv {
            loop {
                let r = if in_place {
                    b.tcp_recv_with(s, |d| {
                        black_box(d);
                        d.len()
                    })
                } else {
                    b.tcp_recv(s, &mut rbuf).inspect(|&n| {
                        black_box(&rbuf[..n]);
                    })
                };
                match r {
                    Ok(n) if n > 0 => got += n,
                    _ => break,
                }
            }
        }
        while let Some(n) = b.poll_transmit(now, &mut frame) {
            a.handle_frame(now, &frame[..n]);
        }
        now += US;
        for s in [&mut a, &mut b] {
            if s.poll_timeout().is_some_and(|t| t <= now) {
                s.handle_timeout(now);
            }
        }
    }
}

fn smol_once(data: &[u8], in_place: bool) {
    let mut a = smol::SmolHost::new([2, 0, 0, 0, 0, 1], [10, 0, 0, 1], 0);
    let mut b = smol::SmolHost::new([2, 0, 0, 0, 0, 2], [10, 0, 0, 2], 0);
    let ha = a.tcp_socket(BUFFER);
    let hb = b.tcp_socket(BUFFER);
    b.tcp(hb).listen(80).unwrap();
    {
        let cx = a.iface.context();
        let s = a
            .sockets
            .get_mut::<smoltcp::socket::tcp::Socket<'static>>(ha);
        s.connect(cx, (IpAddress::v4(10, 0, 0, 2), 80), 49152)
            .unwrap();
        s.set_nagle_enabled(false);
    }
    let mut now = 1_000_000_000u64;
    let mut rbuf = vec![0u8; 65536];
    let (mut sent, mut got) = (0usize, 0usize);
    while got < BYTES {
        {
            let s = a.tcp(ha);
            while sent < BYTES && s.can_send() {
                let end = (sent + 65536).min(BYTES);
                match s.send_slice(&data[sent % (1 << 20)..][..end - sent]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => sent += n,
                }
            }
        }
        a.poll(now);
        while let Some(f) = a.dev.tx.pop_front() {
            b.dev.rx.push_back(f);
            if let Some(v) = b.dev.free.pop() {
                a.dev.free.push(v);
            }
        }
        b.poll(now);
        {
            let s = b.tcp(hb);
            while s.can_recv() {
                let r = if in_place {
                    s.recv(|d| {
                        black_box(&*d);
                        (d.len(), d.len())
                    })
                } else {
                    s.recv_slice(&mut rbuf).inspect(|&n| {
                        black_box(&rbuf[..n]);
                    })
                };
                match r {
                    Ok(n) if n > 0 => got += n,
                    _ => break,
                }
            }
        }
        b.poll(now);
        while let Some(f) = b.dev.tx.pop_front() {
            a.dev.rx.push_back(f);
            if let Some(v) = a.dev.free.pop() {
                b.dev.free.push(v);
            }
        }
        now += US;
    }
}

/// Copies `src` into the ring `ring` at `at` (wrapping); returns the position after it.
fn ring_write(ring: &mut [u8], at: usize, src: &[u8]) -> usize {
    let first = src.len().min(ring.len() - at);
    ring[at..at + first].copy_from_slice(&src[..first]);
    ring[..src.len() - first].copy_from_slice(&src[first..]);
    (at + src.len()) % ring.len()
}

/// Copies from the ring `ring` at `at` (wrapping) into `dst`; returns the position after it.
fn ring_read(ring: &[u8], at: usize, dst: &mut [u8]) -> usize {
    let first = dst.len().min(ring.len() - at);
    dst[..first].copy_from_slice(&ring[at..at + first]);
    let rest = dst.len() - first;
    dst[first..].copy_from_slice(&ring[..rest]);
    (at + dst.len()) % ring.len()
}

/// The byte work the copy API makes any stack do, and nothing else: the application's
/// 64 KiB writes into a 256 KiB send ring, each 1460-byte segment copied and summed into
/// a frame (as uplane's send path does it: one pass), the receiver's checksum pass over
/// the TCP header and payload, the copy into a 256 KiB receive ring, and the
/// application's 64 KiB reads out of it. Same buffers and sizes as the stacks get. The
/// time for `BYTES` is a floor for any stack with this API on this machine, and
/// (floor rate / smoltcp's rate) a ceiling for the ratio: what uplane would reach if its
/// protocol work were free.
fn copies_once(data: &[u8]) {
    const MSS: usize = 1460;
    const CHUNK: usize = 65536;
    let (mut snd, mut rcv) = (vec![0u8; BUFFER], vec![0u8; BUFFER]);
    let mut frame = vec![0u8; 1514];
    let mut rbuf = vec![0u8; CHUNK];
    let (mut w, mut s, mut r, mut a) = (0usize, 0usize, 0usize, 0usize);
    let mut done = 0;
    let mut sums = 0u32;
    while done < BYTES {
        let n = CHUNK.min(BYTES - done);
        w = ring_write(&mut snd, w, &data[done % (1 << 20)..][..n]);
        let mut left = n;
        while left > 0 {
            let m = MSS.min(left);
            let first = m.min(BUFFER - s);
            let mut sum =
                wire::checksum::copy_and_sum(&mut frame[54..54 + first], &snd[s..s + first]);
            if first < m {
                let more =
                    wire::checksum::copy_and_sum(&mut frame[54 + first..54 + m], &snd[..m - first]);
                sum = wire::checksum::combine(&[sum, more]);
            }
            s = (s + m) % BUFFER;
            sums = sums.wrapping_add(u32::from(sum));
            sums = sums.wrapping_add(u32::from(wire::checksum::data(&frame[34..54 + m])));
            r = ring_write(&mut rcv, r, &frame[54..54 + m]);
            left -= m;
        }
        a = ring_read(&rcv, a, &mut rbuf[..n]);
        black_box(&rbuf[..n]);
        done += n;
    }
    black_box((w, sums));
}

fn main() {
    // Data repeats every 64 KiB window start; both stacks copy the same bytes.
    let data: Vec<u8> = (0..(1usize << 20) + 65536)
        .map(|i| (i * 7 + i / 4096) as u8)
        .collect();
    let data = &data[..];
    let t_ours = best_of(3, || ours_once(data, false));
    if std::env::var_os("TCP_BULK_ONLY_UPLANE").is_some() {
        // For profiling one side.
        println!("uplane {:.2} Gbit/s", BYTES as f64 * 8.0 / t_ours / 1e9);
        return;
    }
    let t_smol = best_of(3, || smol_once(data, false));
    let gbit = |t: f64| BYTES as f64 * 8.0 / t / 1e9;
    report_rate(
        "tcp-bulk-memory",
        "Gbit/s",
        gbit(t_ours),
        Some(("smoltcp", gbit(t_smol))),
    );
    let t_floor = best_of(3, || copies_once(data));
    println!(
        "limit: the copy API's copies and checksums alone, no protocol work: {:.2} Gbit/s, \
         so a ceiling of {:.2} for the ratio against this smoltcp run (uplane does them in \
         {:.0}% of its time)",
        gbit(t_floor),
        t_smol / t_floor,
        100.0 * t_floor / t_ours
    );
    let t_ours = best_of(3, || ours_once(data, true));
    let t_smol = best_of(3, || smol_once(data, true));
    report_rate(
        "tcp-bulk-memory-recv-in-place",
        "Gbit/s",
        gbit(t_ours),
        Some(("smoltcp", gbit(t_smol))),
    );
}
