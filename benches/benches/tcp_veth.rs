//! BENCH tcp-veth: bulk TCP from uplane's stack to a Linux receiver over a veth pair, vs
//! the kernel sending the same bytes over the same veth (needs root; skipped otherwise).
//!
//! Namespace `u` holds one end (`u0`), namespace `k` the other (`k0`, 10.78.0.1/24, a
//! kernel `TcpListener` reading to end of stream). TSO/GSO/GRO and checksum offloads are
//! off on both ends. uplane: the stack (10.78.0.2) through the blocking `net` layer on
//! an AF_PACKET device on `u0` (which has no kernel address), writing with
//! `TcpStream::write_all`. Kernel: `u0` gets 10.78.0.2/24 after uplane is gone and a
//! kernel socket in `u` sends. The figure is bytes over the time from connect until the
//! receiver has read the last byte; best of three each. The namespaces go away at the end,
//! on failure too (`testkit::Lab`).

#[path = "../../crates/stack/examples/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::Instant;

use stack::iface::{Interface, InterfaceConfig};
use stack::net::{Net, NetConfig};
use stack::socket::Stack;
use testkit::Lab;
use uplane_benches::report_rate;

const BYTES: usize = 400 << 20;
const RUNS: usize = 3;
const KERNEL: &str = "10.78.0.1";
const OURS: &str = "10.78.0.2";
const PORT: u16 = 5201;

/// A kernel listener in `k` that reads one connection to its end per run; returns the
/// instant the last byte arrived and the count.
fn receiver(lab: &Lab) -> std::thread::JoinHandle<Vec<(Instant, usize)>> {
    let l = lab
        .in_netns("k", || TcpListener::bind((KERNEL, PORT)))
        .expect("enter netns")
        .expect("bind");
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 1 << 18];
        for _ in 0..RUNS {
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

/// Runs the sender `RUNS` times against one receiver; best Gbit/s.
fn measure(lab: &Lab, mut send: impl FnMut(&[u8])) -> f64 {
    let rx = receiver(lab);
    let chunk: Vec<u8> = (0..1 << 20).map(|i| (i * 7 + i / 4093) as u8).collect();
    let mut starts = Vec::new();
    for _ in 0..RUNS {
        starts.push(Instant::now());
        send(&chunk);
    }
    let ends = rx.join().expect("receiver");
    starts
        .iter()
        .zip(&ends)
        .map(|(s, &(e, n))| {
            assert_eq!(n, BYTES, "the receiver got every byte");
            BYTES as f64 * 8.0 / (e - *s).as_secs_f64() / 1e9
        })
        .fold(0.0, f64::max)
}

fn main() {
    if !testkit::is_root() {
        eprintln!("skipped: tcp-veth needs root (network namespaces, AF_PACKET)");
        return;
    }
    let mut lab = Lab::new();
    lab.netns("u").expect("netns");
    lab.netns("k").expect("netns");
    lab.veth("u", "u0", "k", "k0").expect("veth");
    lab.offloads_off("u", "u0").expect("ethtool u0");
    lab.offloads_off("k", "k0").expect("ethtool k0");
    lab.addr("k", "k0", &format!("{KERNEL}/24")).expect("addr");
    let to: SocketAddr = format!("{KERNEL}:{PORT}").parse().unwrap();

    let ours = {
        let dev = lab
            .in_netns("u", || {
                io::af_packet::AfPacket::open(&io::af_packet::AfPacketConfig::new("u0"))
            })
            .expect("enter netns")
            .expect("AF_PACKET on u0");
        let mut c = InterfaceConfig::new([0x02, 0x75, 0x70, 0x6c, 0x6e, 0x02]);
        c.ipv4 = Some((OURS.parse().unwrap(), 24));
        c.endpoint.secret = [0x42; 16];
        let net = Net::spawn(
            Stack::new(Interface::new(c)),
            common::DevicePhy::new(Box::new(dev)),
            NetConfig::default(),
        );
        let g = measure(&lab, |chunk| {
            let mut s = stack::net::TcpStream::connect(&net, to).expect("connect");
            let mut sent = 0;
            while sent < BYTES {
                let n = chunk.len().min(BYTES - sent);
                s.write_all(&chunk[..n]).expect("write");
                sent += n;
            }
            s.shutdown(Shutdown::Write).expect("shutdown");
        });
        drop(net);
        g
    };

    lab.addr("u", "u0", &format!("{OURS}/24")).expect("addr");
    let kernel = measure(&lab, |chunk| {
        let mut s = lab
            .in_netns("u", || TcpStream::connect(to))
            .expect("enter netns")
            .expect("kernel connect");
        let mut sent = 0;
        while sent < BYTES {
            let n = chunk.len().min(BYTES - sent);
            s.write_all(&chunk[..n]).expect("write");
            sent += n;
        }
        s.shutdown(Shutdown::Write).expect("shutdown");
    });
    report_rate("tcp-veth", "Gbit/s", ours, Some(("linux", kernel)));
}
