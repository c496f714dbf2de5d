//! BENCH tcp-veth: bulk TCP from uplane's stack to a Linux receiver over a veth pair, vs
//! the kernel sending the same bytes over the same veth (needs root; skipped otherwise).
//!
//! Namespace `u` holds one end (`u0`), namespace `k` the other (`k0`, 10.78.0.1/24, a
//! kernel `TcpListener` reading to end of stream). TSO/GSO/GRO and checksum offloads are
//! off on both ends. uplane: the stack (10.78.0.2, a 4 MiB send buffer like the kernel's
//! tcp_wmem maximum) through the blocking `net` layer on an AF_PACKET device on `u0`
//! (which has no kernel address), writing with `TcpStream::write_all`. Kernel: `u0` gets 10.78.0.2/24 after uplane is gone and a
//! kernel socket in `u` sends. The figure is bytes over the time from connect until the
//! receiver has read the last byte; best of three each. The namespaces go away at the end,
//! on failure too (`testkit::Lab`).

#[path = "../../crates/stack/examples/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::Instant;

use testkit::Lab;
use uplane_benches::report_rate;

const BYTES: usize = 400 << 20;
const RUNS: usize = 3;
const KERNEL: &str = "10.78.0.1";
const OURS: &str = "10.78.0.2";
const PORT: u16 = 5201;

/// A kernel listener in `k` that reads `conns` connections, one after another, each to
/// its end; returns the instant each one's last byte arrived and its count.
fn receiver(lab: &Lab, conns: usize) -> std::thread::JoinHandle<Vec<(Instant, usize)>> {
    let l = lab
        .in_netns("k", || TcpListener::bind((KERNEL, PORT)))
        .expect("enter netns")
        .expect("bind");
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 1 << 18];
        for _ in 0..conns {
            let (mut s, _) = l.accept().expect("accept");
            let mut n = 0;
            loop {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => n += k,
                }
            }
            out.push((Instant::now(), n));
        }
        out
    })
}

/// Writes `BYTES` (the 1 MiB `chunk` over and over), shuts the write side, and waits for
/// the receiver's close: a written byte may still sit in the sender's buffer, and the
/// run that follows takes the sender away (uplane's driver thread stops; the kernel's
/// address is deleted), which used to strand the tail of a transfer now and then and
/// leave the receiver, and with it the next run, waiting forever.
fn send_all<W: Read + Write>(mut s: W, chunk: &[u8], shutdown: impl FnOnce(&mut W)) {
    let mut sent = 0;
    while sent < BYTES {
        let n = chunk.len().min(BYTES - sent);
        s.write_all(&chunk[..n]).expect("write");
        sent += n;
    }
    shutdown(&mut s);
    let mut b = [0u8; 64];
    while s.read(&mut b).expect("read until the receiver closes") > 0 {}
}

/// One uplane run: a fresh stack on a fresh AF_PACKET socket on `u0`.
fn ours_once(lab: &Lab, to: SocketAddr, chunk: &[u8]) {
    // The kernel sender's buffer autotunes up to tcp_wmem's maximum (4 MiB); ours is
    // fixed, so it gets that maximum. It matters here: the AF_PACKET rx ring hands the
    // receiver's ACKs over a block at a time (a block retires when full or after its
    // 1 ms timeout), so the window must cover more than a millisecond. With the default
    // 256 KiB: 1.13 Gbit/s (window / ACK batching) against the kernel's 3.4.
    let dev = lab
        .in_netns("u", || {
            io::af_packet::AfPacket::open(&io::af_packet::AfPacketConfig::new("u0"))
        })
        .expect("enter netns")
        .expect("AF_PACKET on u0");
    let mac = [0x02, 0x75, 0x70, 0x6c, 0x6e, 0x02];
    let net = common::spawn_net(Box::new(dev), mac, OURS.parse().unwrap(), 4 << 20);
    let s = stack::net::TcpStream::connect(&net, to).expect("connect");
    send_all(s, chunk, |s| s.shutdown(Shutdown::Write).expect("shutdown"));
}

/// One kernel run: `u0` gets our address for the run (uplane is not on it then).
fn kernel_once(lab: &Lab, to: SocketAddr, chunk: &[u8]) {
    let cidr = format!("{OURS}/24");
    lab.addr("u", "u0", &cidr).expect("addr");
    let s = lab
        .in_netns("u", || TcpStream::connect(to))
        .expect("enter netns")
        .expect("kernel connect");
    send_all(s, chunk, |s| s.shutdown(Shutdown::Write).expect("shutdown"));
    lab.ip("u", &["addr", "del", &cidr, "dev", "u0"])
        .expect("addr del");
}

fn main() {
    if !testkit::is_root() {
        eprintln!("skipped: tcp-veth needs root (network namespaces, AF_PACKET)");
        return;
    }
    let mut lab = Lab::new();
    lab.veth_to_kernel("u", "u0", "k", "k0", &format!("{KERNEL}/24"))
        .expect("lab");
    let to: SocketAddr = format!("{KERNEL}:{PORT}").parse().unwrap();
    let chunk: Vec<u8> = (0..1 << 20).map(|i| (i * 7 + i / 4093) as u8).collect();
    // For profiling one side: TCP_VETH_ONLY=uplane or =linux (no BENCH line then).
    let only = std::env::var("TCP_VETH_ONLY").unwrap_or_default();
    let (ours, kernel) = (only != "linux", only != "uplane");
    // Rounds alternate uplane and kernel, so both see the same share of a busy machine.
    let rx = receiver(&lab, RUNS * (usize::from(ours) + usize::from(kernel)));
    let mut starts = Vec::new();
    for _ in 0..RUNS {
        if ours {
            starts.push(Instant::now());
            ours_once(&lab, to, &chunk);
        }
        if kernel {
            starts.push(Instant::now());
            kernel_once(&lab, to, &chunk);
        }
    }
    let ends = rx.join().expect("receiver");
    let gbit: Vec<f64> = starts
        .iter()
        .zip(&ends)
        .map(|(s, &(e, n))| {
            assert_eq!(n, BYTES, "the receiver got every byte");
            BYTES as f64 * 8.0 / (e - *s).as_secs_f64() / 1e9
        })
        .collect();
    if !(ours && kernel) {
        println!("runs ({only} only), Gbit/s: {gbit:.2?}");
        return;
    }
    let best = |k: usize| gbit.iter().skip(k).step_by(2).copied().fold(0.0, f64::max);
    println!("runs (uplane, kernel alternating), Gbit/s: {gbit:.2?}");
    report_rate("tcp-veth", "Gbit/s", best(0), Some(("linux", best(1))));
}
