//! BENCH tcp-bulk-memory: bulk TCP throughput between two uplane stacks in memory on one
//! core (whole Ethernet frames: ARP, IP and TCP headers, checksums, the socket API),
//! against a smoltcp 0.12 pair moving the same bytes over the same kind of link in the
//! same run. Both sides get 256 KiB socket buffers and window scaling; frames go straight
//! from one stack to the other (no loss), on a virtual clock.

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

fn ours_once(data: &[u8]) {
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
            while let Ok(n) = b.tcp_recv(s, &mut rbuf) {
                if n == 0 {
                    break;
                }
                black_box(&rbuf[..n]);
                got += n;
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

fn smol_once(data: &[u8]) {
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
                match s.recv_slice(&mut rbuf) {
                    Ok(n) if n > 0 => {
                        black_box(&rbuf[..n]);
                        got += n;
                    }
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

fn main() {
    // Data repeats every 64 KiB window start; both stacks copy the same bytes.
    let data: Vec<u8> = (0..(1usize << 20) + 65536)
        .map(|i| (i * 7 + i / 4096) as u8)
        .collect();
    let data = &data[..];
    let t_ours = best_of(3, || ours_once(data));
    if std::env::var_os("TCP_BULK_ONLY_UPLANE").is_some() {
        // For profiling one side.
        println!("uplane {:.2} Gbit/s", BYTES as f64 * 8.0 / t_ours / 1e9);
        return;
    }
    let t_smol = best_of(3, || smol_once(data));
    let gbit = |t: f64| BYTES as f64 * 8.0 / t / 1e9;
    report_rate(
        "tcp-bulk-memory",
        "Gbit/s",
        gbit(t_ours),
        Some(("smoltcp", gbit(t_smol))),
    );
}
