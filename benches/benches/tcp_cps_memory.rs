//! BENCH tcp-cps-memory: TCP connections per second on one core, each one a full life:
//! handshake, one byte, FIN both ways. uplane: two stacks in memory (whole Ethernet frames,
//! the socket API with readiness events, listen/accept queues), 256 connections in
//! flight, TIME-WAIT 1 ms of virtual time so ports come back (each round of the loop,
//! which serves every connection in flight once, advances the virtual clock by 10 µs).
//! Peer in the same run: the Linux kernel over loopback doing the same with blocking
//! sockets on one thread.

use std::io::{Read, Write};
use std::sync::Arc;

use stack::iface::{Interface, InterfaceConfig};
use stack::socket::{Interest, SocketError, SocketEvent, SocketHandle, Stack, Token};
use stack::{TcpConfig, MILLIS};
use uplane_benches::{best_of, report_rate};

/// Connections per run (`TCP_CPS_CONNS` overrides, e.g. for profiling).
fn conns() -> usize {
    std::env::var("TCP_CPS_CONNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000)
}
const IN_FLIGHT: usize = 256;
const LISTENER: Token = Token(usize::MAX);

fn stack(mac: u8, ip: &str) -> Stack {
    let mut c = InterfaceConfig::new([2, 0, 0, 0, 0, mac]);
    c.ipv4 = Some((ip.parse().unwrap(), 24));
    c.endpoint.secret = [mac; 16];
    c.endpoint.tcp = Arc::new(TcpConfig {
        time_wait: MILLIS,
        ..TcpConfig::default()
    });
    Stack::new(Interface::new(c))
}

fn ours_once() -> usize {
    let conns = conns();
    let (mut a, mut b) = (stack(1, "10.0.0.1"), stack(2, "10.0.0.2"));
    let server = "10.0.0.2:80".parse().unwrap();
    let l = b.tcp_listen(server, 1024).unwrap();
    b.register(l, LISTENER, Interest::READABLE).unwrap();
    let mut now = 1_000_000_000u64;
    let mut frame = vec![0u8; 1600];
    let mut buf = [0u8; 16];
    let mut events: Vec<SocketEvent> = Vec::new();
    // Token -> handle, per side; a socket's token is its (dense, reused) slot index.
    let mut clients: Vec<Option<(SocketHandle, bool)>> = Vec::new();
    let mut servers: Vec<Option<SocketHandle>> = Vec::new();
    let (mut opened, mut done, mut in_flight) = (0usize, 0usize, 0usize);
    while done < conns {
        while opened < conns && in_flight < IN_FLIGHT {
            let h = match a.tcp_connect(now, server) {
                Ok(h) => h,
                // Every port in TIME-WAIT: open more once some come back.
                Err(SocketError::AddrInUse) => break,
                Err(e) => panic!("client: {e}"),
            };
            a.register(h, Token(h.index()), Interest::READABLE | Interest::WRITABLE)
                .unwrap();
            put(&mut clients, h.index(), (h, false));
            opened += 1;
            in_flight += 1;
        }
        while let Some(n) = a.poll_transmit(now, &mut frame) {
            b.handle_frame(now, &frame[..n]);
        }
        events.clear();
        b.poll_events(&mut events, usize::MAX);
        for ev in &events {
            if ev.token == LISTENER {
                while let Ok((s, _)) = b.tcp_accept(l) {
                    b.register(s, Token(s.index()), Interest::READABLE).unwrap();
                    put(&mut servers, s.index(), s);
                }
                continue;
            }
            let Some(&Some(s)) = servers.get(ev.token.0) else {
                continue;
            };
            loop {
                match b.tcp_recv(s, &mut buf) {
                    Ok(0) => {
                        b.close(now, s).unwrap();
                        servers[ev.token.0] = None;
                        break;
                    }
                    Ok(_) => {}
                    Err(SocketError::WouldBlock) => break,
                    Err(e) => panic!("server: {e}"),
                }
            }
        }
        while let Some(n) = b.poll_transmit(now, &mut frame) {
            a.handle_frame(now, &frame[..n]);
        }
        events.clear();
        a.poll_events(&mut events, usize::MAX);
        for ev in &events {
            let Some(Some((h, said))) = clients.get_mut(ev.token.0) else {
                continue;
            };
            let h = *h;
            if ev.is_writable() && !*said && a.tcp_is_connected(h).unwrap_or(false) {
                a.tcp_send(h, b"x").unwrap();
                a.tcp_shutdown_write(now, h).unwrap();
                *said = true;
            }
            if ev.is_readable() && *said {
                if let Ok(0) = a.tcp_recv(h, &mut buf) {
                    a.close(now, h).unwrap();
                    clients[ev.token.0] = None;
                    in_flight -= 1;
                    done += 1;
                }
            }
        }
        now += 10_000;
        for s in [&mut a, &mut b] {
            if s.poll_timeout().is_some_and(|t| t <= now) {
                s.handle_timeout(now);
            }
        }
    }
    assert_eq!(
        a.iface().endpoint().stats().connections_opened as usize,
        conns,
        "every connection opened once"
    );
    conns
}

/// `v[i] = Some(x)`, growing `v` as needed.
fn put<T>(v: &mut Vec<Option<T>>, i: usize, x: T) {
    if v.len() <= i {
        v.resize_with(i + 1, || None);
    }
    v[i] = Some(x);
}

fn kernel_once(n: usize) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let mut buf = [0u8; 16];
    for _ in 0..n {
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.set_nodelay(true).unwrap();
        let (mut s, _) = l.accept().unwrap();
        c.write_all(b"x").unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        while s.read(&mut buf).unwrap() > 0 {}
        drop(s);
        while c.read(&mut buf).unwrap_or(0) > 0 {}
    }
}

fn main() {
    let t_ours = best_of(3, || {
        ours_once();
    });
    if std::env::var_os("TCP_CPS_ONLY_UPLANE").is_some() {
        // For profiling one side.
        println!("uplane {:.0} conn/s", conns() as f64 / t_ours);
        return;
    }
    // Loopback ports: keep the kernel's count under its ephemeral range (TIME-WAIT).
    let kn = 10_000;
    let t_kernel = best_of(3, || kernel_once(kn));
    report_rate(
        "tcp-cps-memory",
        "conn/s",
        conns() as f64 / t_ours,
        Some(("linux-loopback", kn as f64 / t_kernel)),
    );
}
