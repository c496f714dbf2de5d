//! Interop with smoltcp in memory: our stack and a smoltcp host on one Ethernet link (ARP
//! included), each direction of handshake, 1 MB echoed both ways with identical bytes.

mod smol;

use smol::SmolHost;
use smoltcp::wire::IpAddress;
use stack::iface::{Interface, InterfaceConfig};
use stack::socket::{SocketError, Stack};
use stack::{MILLIS, SECONDS};

const US: u64 = 1_000;

struct Sim {
    now: u64,
    ours: Stack,
    smol: SmolHost,
    buf: Vec<u8>,
    frames: u64,
}

impl Sim {
    fn new() -> Sim {
        let mut c = InterfaceConfig::new([2, 0, 0, 0, 0, 1]);
        c.ipv4 = Some(("10.0.0.1".parse().unwrap(), 24));
        let now = SECONDS;
        Sim {
            now,
            ours: Stack::new(Interface::new(c)),
            smol: SmolHost::new([2, 0, 0, 0, 0, 2], [10, 0, 0, 2], now),
            buf: vec![0; 1600],
            frames: 0,
        }
    }

    /// Moves frames both ways and runs both stacks once; then advances the clock.
    fn step(&mut self) {
        let mut moved = false;
        while let Some(f) = self.smol.dev.tx.pop_front() {
            self.ours.handle_frame(self.now, &f);
            self.frames += 1;
            moved = true;
        }
        if self.ours.poll_timeout().is_some_and(|t| t <= self.now) {
            self.ours.handle_timeout(self.now);
        }
        while let Some(n) = self.ours.poll_transmit(self.now, &mut self.buf) {
            self.smol.dev.rx.push_back(self.buf[..n].to_vec());
            self.frames += 1;
            moved = true;
        }
        self.smol.poll(self.now);
        moved |= !self.smol.dev.tx.is_empty();
        self.now += if moved {
            10 * US
        } else {
            let ours = self.ours.poll_timeout().map(|t| t.saturating_sub(self.now));
            let theirs = self.smol.delay_ns(self.now);
            [ours, theirs, Some(10 * MILLIS)]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(MILLIS)
                .max(US)
        };
    }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + i / 997) as u8) ^ seed)
        .collect()
}

/// Drives the smoltcp side of an echo: whatever arrives goes back; closes after the
/// peer's FIN once everything is echoed.
fn smol_echo(smol: &mut SmolHost, h: smoltcp::iface::SocketHandle, pending: &mut Vec<u8>) {
    let s = smol.tcp(h);
    if s.can_recv() && pending.len() < 65536 {
        let mut tmp = [0u8; 8192];
        if let Ok(n) = s.recv_slice(&mut tmp) {
            pending.extend_from_slice(&tmp[..n]);
        }
    }
    if !pending.is_empty() && s.can_send() {
        if let Ok(n) = s.send_slice(pending) {
            pending.drain(..n);
        }
    }
    if !s.may_recv() && pending.is_empty() && s.may_send() {
        s.close();
    }
}

#[test]
fn our_client_to_smoltcp_server_echo() {
    let mut sim = Sim::new();
    let sh = sim.smol.tcp_socket(65536);
    sim.smol.tcp(sh).listen(80).unwrap();
    let c = sim
        .ours
        .tcp_connect(sim.now, "10.0.0.2:80".parse().unwrap())
        .unwrap();
    let data = pattern(1 << 20, 0x5a);
    let (mut sent, mut back, mut shut, mut eof) = (0usize, Vec::new(), false, false);
    let mut pending = Vec::new();
    let mut buf = vec![0u8; 65536];
    let deadline = sim.now + 60 * SECONDS;
    while !eof && sim.now < deadline {
        sim.step();
        smol_echo(&mut sim.smol, sh, &mut pending);
        if sim.ours.tcp_is_connected(c).unwrap() {
            while sent < data.len() {
                match sim.ours.tcp_send(c, &data[sent..]) {
                    Ok(n) => sent += n,
                    Err(SocketError::WouldBlock) => break,
                    Err(e) => panic!("send: {e}"),
                }
            }
            if sent == data.len() && !shut {
                sim.ours.tcp_shutdown_write(sim.now, c).unwrap();
                shut = true;
            }
        }
        loop {
            match sim.ours.tcp_recv(c, &mut buf) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => back.extend_from_slice(&buf[..n]),
                Err(SocketError::WouldBlock) => break,
                Err(e) => panic!("recv: {e}"),
            }
        }
    }
    assert!(
        eof,
        "smoltcp closed after echoing (got {} bytes)",
        back.len()
    );
    assert!(back == data, "1 MiB came back byte for byte");
    assert_eq!(sim.ours.iface().stats().total_drops(), 0);
    println!(
        "frames {} virtual time {} ms",
        sim.frames,
        (sim.now - SECONDS) / MILLIS
    );
}

#[test]
fn smoltcp_client_to_our_server_echo() {
    let mut sim = Sim::new();
    let l = sim
        .ours
        .tcp_listen("0.0.0.0:80".parse().unwrap(), 8)
        .unwrap();
    let sh = sim.smol.tcp_socket(65536);
    {
        let cx = sim.smol.iface.context();
        let s = sim
            .smol
            .sockets
            .get_mut::<smoltcp::socket::tcp::Socket<'static>>(sh);
        s.connect(cx, (IpAddress::v4(10, 0, 0, 1), 80), 49500)
            .unwrap();
    }
    let data = pattern(1 << 20, 0xa5);
    let (mut sent, mut back) = (0usize, Vec::new());
    let mut srv = None;
    let mut echo: Vec<u8> = Vec::new();
    let mut srv_shut = false;
    let mut buf = vec![0u8; 65536];
    let deadline = sim.now + 60 * SECONDS;
    let mut done = false;
    while !done && sim.now < deadline {
        sim.step();
        // smoltcp client: send everything, then FIN; read the echo.
        {
            let s = sim.smol.tcp(sh);
            if s.may_send() && sent < data.len() {
                if let Ok(n) = s.send_slice(&data[sent..]) {
                    sent += n;
                }
                if sent == data.len() {
                    s.close();
                }
            }
            while s.can_recv() {
                match s.recv_slice(&mut buf) {
                    Ok(n) if n > 0 => back.extend_from_slice(&buf[..n]),
                    _ => break,
                }
            }
            done = back.len() == data.len() && !s.may_recv();
        }
        // Our server echoes through the socket API.
        if srv.is_none() {
            if let Ok((h, peer)) = sim.ours.tcp_accept(l) {
                assert_eq!(peer, "10.0.0.2:49500".parse().unwrap());
                srv = Some(h);
            }
        }
        if let Some(h) = srv {
            let mut eof = false;
            if echo.len() < 65536 {
                match sim.ours.tcp_recv(h, &mut buf) {
                    Ok(0) => eof = true,
                    Ok(n) => echo.extend_from_slice(&buf[..n]),
                    Err(SocketError::WouldBlock) => {}
                    Err(e) => panic!("server recv: {e}"),
                }
            }
            if !echo.is_empty() {
                match sim.ours.tcp_send(h, &echo) {
                    Ok(n) => {
                        echo.drain(..n);
                    }
                    Err(SocketError::WouldBlock) => {}
                    Err(e) => panic!("server send: {e}"),
                }
            }
            if eof && echo.is_empty() && !srv_shut {
                sim.ours.tcp_shutdown_write(sim.now, h).unwrap();
                srv_shut = true;
            }
        }
    }
    assert!(done, "echo finished (smoltcp got {} bytes)", back.len());
    assert!(back == data, "1 MiB came back byte for byte");
    assert_eq!(sim.ours.iface().stats().total_drops(), 0);
}
