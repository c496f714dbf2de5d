//! The bodies of the `stack_ip` and `stack_frame` fuzz targets, here so that `cargo test`
//! replays their corpus (`tests/fuzz_corpus.rs`).
//!
//! Each builds a host under test (an [`IpHost`] or an [`Interface`]) and a peer of the
//! same kind, with a listener and one connection established by a real handshake on a
//! virtual clock (fixed secrets: the same input always takes the same path). The fuzz
//! input is then a sequence of [`records`](Records): packets (or frames) handed to the
//! host under test at advancing times, application calls (send, recv, close, accept,
//! connect, UDP), and clock jumps. What the host sends goes to the peer and back, so a
//! fuzzed segment can move the real connection. A record may ask for its checksums to be
//! fixed, so that mutations get past the checksum checks.
//!
//! Checked after every record: no panic; a packet out fits `max_packet_len`; the host's
//! counters add up (received = handed in, sent = handed out); live connections stay below
//! what the listeners' backlogs and the application's calls allow; the timer wheel holds
//! at most one entry per connection.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::iface::{Interface, InterfaceConfig};
use crate::ip::{IpHost, IpHostConfig};
use crate::udp::UdpHandle;
use crate::{ConnectionHandle, Instant, MILLIS};

/// The listeners' backlog (bounds each SYN queue and each accept queue).
pub const BACKLOG: usize = 4;
pub use wire::fuzz_input::MAX_RECORD;
/// Rounds of peer exchange after each record (bounds the work per record).
const PUMP_ROUNDS: usize = 8;

/// Record kinds (`ctl & 3`).
pub const OP_PACKET: u8 = 0;
/// An application call; the body's first byte chooses it.
pub const OP_APP: u8 = 2;
/// A clock jump of `2^(body[0] % 40)` ns, then the timers.
pub const OP_JUMP: u8 = 3;
/// Flag: recompute the packet's IP header and transport checksums before handing it in.
pub const FIX_CHECKSUMS: u8 = 0x04;

/// The fuzz input as records (`wire::fuzz_input`): `ctl & 3` is the kind (0 and 1: a
/// packet), `ctl & 4` asks for checksums to be fixed, `ctl >> 3` advances the clock by
/// that many 10 ms first.
pub use wire::fuzz_input::{encode, Records};

/// What the drivers need of [`IpHost`] and [`Interface`].
trait Host {
    fn handle(&mut self, now: Instant, pkt: &[u8]);
    fn transmit(&mut self, now: Instant, out: &mut [u8]) -> Option<usize>;
    fn timeout(&mut self) -> Option<Instant>;
    fn run_timers(&mut self, now: Instant);
    fn ep(&mut self) -> &mut crate::Endpoint;
    fn udp(&mut self) -> &mut crate::udp::UdpTable;
    fn max_len(&self) -> usize;
    /// (received, sent) as the host counts them.
    fn counted(&self) -> (u64, u64);
    /// Bytes of link header before the IP packet.
    const LINK: usize;
}

impl Host for IpHost {
    fn handle(&mut self, now: Instant, pkt: &[u8]) {
        let _ = self.handle_ip_packet(now, pkt);
    }
    fn transmit(&mut self, now: Instant, out: &mut [u8]) -> Option<usize> {
        self.poll_transmit(now, out)
    }
    fn timeout(&mut self) -> Option<Instant> {
        self.poll_timeout()
    }
    fn run_timers(&mut self, now: Instant) {
        self.handle_timeout(now);
    }
    fn ep(&mut self) -> &mut crate::Endpoint {
        self.endpoint_mut()
    }
    fn udp(&mut self) -> &mut crate::udp::UdpTable {
        self.udp_mut()
    }
    fn max_len(&self) -> usize {
        self.max_packet_len()
    }
    fn counted(&self) -> (u64, u64) {
        (self.stats().rx_packets, self.stats().tx_packets)
    }
    const LINK: usize = 0;
}

impl Host for Interface {
    fn handle(&mut self, now: Instant, pkt: &[u8]) {
        let _ = self.handle_frame(now, pkt);
    }
    fn transmit(&mut self, now: Instant, out: &mut [u8]) -> Option<usize> {
        self.poll_transmit(now, out)
    }
    fn timeout(&mut self) -> Option<Instant> {
        self.poll_timeout()
    }
    fn run_timers(&mut self, now: Instant) {
        self.handle_timeout(now);
    }
    fn ep(&mut self) -> &mut crate::Endpoint {
        self.endpoint_mut()
    }
    fn udp(&mut self) -> &mut crate::udp::UdpTable {
        self.udp_mut()
    }
    fn max_len(&self) -> usize {
        self.max_frame_len()
    }
    fn counted(&self) -> (u64, u64) {
        (self.stats().rx_frames, self.stats().tx_frames)
    }
    const LINK: usize = 14;
}

/// Our side's addresses (host under test) and the peer's.
pub const HOST_V4: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 1);
/// The peer's IPv4 address.
pub const PEER_V4: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 2);
/// The host's IPv6 address.
pub const HOST_V6: Ipv6Addr = Ipv6Addr::new(0xfd01, 0, 0, 0, 0, 0, 0, 1);
/// The peer's IPv6 address.
pub const PEER_V6: Ipv6Addr = Ipv6Addr::new(0xfd01, 0, 0, 0, 0, 0, 0, 2);
/// The host's MAC (`stack_frame`).
pub const HOST_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
/// The peer's MAC (`stack_frame`).
pub const PEER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
/// The port the host listens on (both families) and its UDP socket's port.
pub const PORT: u16 = 7;

/// A host under test, its peer, the clock and what the application holds.
struct World<H: Host> {
    host: H,
    peer: H,
    now: Instant,
    buf: Vec<u8>,
    /// Host-side connections the application holds (accepted or opened).
    conns: Vec<ConnectionHandle>,
    /// The peer's connections to the host.
    peer_conns: Vec<ConnectionHandle>,
    udp: UdpHandle,
    /// Connections opened or accepted by the application, ever (the bound's share).
    app_conns: usize,
    handed_in: u64,
    handed_out: u64,
    /// Packets every host sent to the other during setup and the input (seed material).
    log: Option<Vec<Vec<u8>>>,
}

impl<H: Host> World<H> {
    fn new(mut host: H, peer: H, v6: bool) -> Self {
        let listen = [
            SocketAddr::new(IpAddr::V4(HOST_V4), PORT),
            SocketAddr::new(IpAddr::V6(HOST_V6), PORT),
        ];
        for l in listen {
            host.ep()
                .listen(l, BACKLOG)
                .expect("a fresh endpoint listens");
        }
        let udp = host.udp().bind(listen[0]).expect("a fresh table binds");
        let mut w = World {
            host,
            peer,
            now: 1_000 * MILLIS,
            buf: vec![0; 4096],
            conns: Vec::new(),
            peer_conns: Vec::new(),
            udp,
            app_conns: 0,
            handed_in: 0,
            handed_out: 0,
            log: None,
        };
        w.peer_connect(v6, 40000);
        assert_eq!(w.conns.len(), 1, "the setup handshake did not complete");
        w
    }

    /// The peer opens a connection to the host's listener; the host accepts it.
    fn peer_connect(&mut self, v6: bool, port: u16) {
        let (local, remote) = if v6 {
            (IpAddr::V6(PEER_V6), IpAddr::V6(HOST_V6))
        } else {
            (IpAddr::V4(PEER_V4), IpAddr::V4(HOST_V4))
        };
        if let Ok(h) = self.peer.ep().connect(
            self.now,
            SocketAddr::new(local, port),
            SocketAddr::new(remote, PORT),
        ) {
            self.peer_conns.push(h);
        }
        for _ in 0..4 {
            self.pump();
            self.now += MILLIS;
            self.accept();
        }
    }

    fn accept(&mut self) {
        for l in [
            SocketAddr::new(IpAddr::V4(HOST_V4), PORT),
            SocketAddr::new(IpAddr::V6(HOST_V6), PORT),
        ] {
            while let Some(h) = self.host.ep().accept(l) {
                self.conns.push(h);
                self.app_conns += 1;
            }
        }
    }

    /// Hands one packet to the host under test.
    fn deliver(&mut self, pkt: &[u8]) {
        self.handed_in += 1;
        self.host.handle(self.now, pkt);
    }

    /// Moves packets between host and peer for a few rounds, running due timers, and
    /// drains both sides' events (as an application does).
    fn pump(&mut self) {
        let max = self.host.max_len();
        for _ in 0..PUMP_ROUNDS {
            let mut any = false;
            while let Some(n) = self.host.transmit(self.now, &mut self.buf) {
                assert!(n <= max, "sent {n} bytes, more than {max}");
                self.handed_out += 1;
                if let Some(log) = self.log.as_mut() {
                    log.push(self.buf[..n].to_vec());
                }
                self.peer.handle(self.now, &self.buf[..n]);
                any = true;
            }
            while let Some(n) = self.peer.transmit(self.now, &mut self.buf) {
                let pkt = self.buf[..n].to_vec();
                if let Some(log) = self.log.as_mut() {
                    log.push(pkt.clone());
                }
                self.deliver(&pkt);
                any = true;
            }
            for h in [&mut self.host, &mut self.peer] {
                if h.timeout().is_some_and(|t| t <= self.now) {
                    h.run_timers(self.now);
                    any = true;
                }
            }
            while self.host.ep().poll_event().is_some() {}
            while self.peer.ep().poll_event().is_some() {}
            while self.host.udp().poll_event().is_some() {}
            if !any {
                break;
            }
        }
    }

    fn app(&mut self, body: &[u8]) {
        let (&op, rest) = body.split_first().unwrap_or((&0, &[]));
        let pick = rest.first().copied().unwrap_or(0) as usize;
        let h = (!self.conns.is_empty()).then(|| self.conns[pick % self.conns.len()]);
        let mut rbuf = [0u8; 1024];
        match op % 9 {
            0 => {
                if let Some(h) = h {
                    let _ = self.host.ep().send(h, rest);
                }
            }
            1 => {
                if let Some(h) = h {
                    while let Ok(Some(n)) = self.host.ep().recv(h, &mut rbuf) {
                        if n == 0 {
                            break;
                        }
                    }
                }
            }
            2 => {
                if let Some(h) = h {
                    let _ = self.host.ep().close(self.now, h);
                }
            }
            3 => {
                if let Some(h) = h {
                    self.host.ep().abort(self.now, h);
                }
            }
            4 => {
                for &p in &self.peer_conns {
                    let _ = self.peer.ep().send(p, rest);
                }
            }
            5 => {
                // The host connects out to the peer (which does not listen: a RST back).
                let port = 1024 + (pick as u16) * 7;
                let (l, r) = if op & 0x10 != 0 {
                    (IpAddr::V6(HOST_V6), IpAddr::V6(PEER_V6))
                } else {
                    (IpAddr::V4(HOST_V4), IpAddr::V4(PEER_V4))
                };
                if let Ok(h) = self.host.ep().connect(
                    self.now,
                    SocketAddr::new(l, port),
                    SocketAddr::new(r, 9),
                ) {
                    self.conns.push(h);
                    self.app_conns += 1;
                }
            }
            6 => {
                let to = SocketAddr::new(IpAddr::V4(PEER_V4), 5353);
                let _ = self.host.udp().send_to(self.udp, to, rest, 1472);
                let _ = self.host.udp().recv_from(self.udp, &mut rbuf);
            }
            7 => {
                if self.peer_conns.len() < 8 {
                    self.peer_connect(op & 0x10 != 0, 40001 + self.peer_conns.len() as u16);
                }
            }
            _ => {
                for &p in &self.peer_conns {
                    while let Ok(Some(n)) = self.peer.ep().recv(p, &mut rbuf) {
                        if n == 0 {
                            break;
                        }
                    }
                }
            }
        }
        self.accept();
    }

    fn record(&mut self, ctl: u8, body: &[u8]) {
        self.now += u64::from(ctl >> 3) * 10 * MILLIS;
        match ctl & 3 {
            OP_APP => self.app(body),
            OP_JUMP => {
                let shift = body.first().map_or(0, |b| b % 40);
                self.now += 1u64 << shift;
                if self.host.timeout().is_some_and(|t| t <= self.now) {
                    self.host.run_timers(self.now);
                }
            }
            _ => {
                let mut pkt = body.to_vec();
                if ctl & FIX_CHECKSUMS != 0 && pkt.len() > H::LINK {
                    wire::fuzz_input::fix_ip_checksums(&mut pkt[H::LINK..]);
                }
                self.deliver(&pkt);
                self.accept();
            }
        }
        self.pump();
        self.check();
    }

    fn check(&mut self) {
        let (rx, tx) = self.host.counted();
        assert_eq!(rx, self.handed_in, "received packets miscounted");
        assert!(tx >= self.handed_out, "sent packets miscounted");
        let ep = self.host.ep();
        let live = ep.connection_count();
        let bound = 2 * 2 * BACKLOG + self.app_conns;
        assert!(live <= bound, "{live} connections, bound {bound}");
        assert!(
            ep.timer_entries() <= live + 1,
            "timer entries outgrow connections"
        );
    }
}

fn run<H: Host>(mut w: World<H>, data: &[u8]) -> World<H> {
    w.check();
    for (ctl, body) in Records(data) {
        w.record(ctl, body);
    }
    w
}

fn ip_world(v6: bool) -> World<IpHost> {
    let host = |seed: u8| {
        let mut c = IpHostConfig::default();
        c.endpoint.secret = [seed; 16];
        IpHost::new(c)
    };
    World::new(host(1), host(2), v6)
}

fn frame_world(v6: bool) -> World<Interface> {
    let iface = |mac: [u8; 6], v4: Ipv4Addr, v6: Ipv6Addr, seed: u8| {
        let mut c = InterfaceConfig::new(mac);
        c.ipv4 = Some((v4, 24));
        c.ipv6 = Some((v6, 64));
        c.endpoint.secret = [seed; 16];
        Interface::new(c)
    };
    World::new(
        iface(HOST_MAC, HOST_V4, HOST_V6, 1),
        iface(PEER_MAC, PEER_V4, PEER_V6, 2),
        v6,
    )
}

/// `stack_ip`: the input's packets (and calls) to an [`IpHost`] with a listener and an
/// established connection (IPv4, or IPv6 when the first byte is odd).
pub fn stack_ip(data: &[u8]) {
    let (v6, rest) = match data.split_first() {
        Some((b, rest)) => (b & 1 == 1, rest),
        None => (false, data),
    };
    run(ip_world(v6), rest);
}

/// `stack_frame`: the input's Ethernet frames (and calls) to an [`Interface`] with a
/// listener and an established connection (IPv4, or IPv6 when the first byte is odd).
pub fn stack_frame(data: &[u8]) {
    let (v6, rest) = match data.split_first() {
        Some((b, rest)) => (b & 1 == 1, rest),
        None => (false, data),
    };
    run(frame_world(v6), rest);
}

/// Seeds for both targets: what the peer sent to the host while `script` (records of
/// application calls and clock jumps) ran, as packet records, after the same first byte.
/// Returns (stack_ip seed, stack_frame seed).
pub fn seeds(v6: bool, script: &[u8]) -> (Vec<u8>, Vec<u8>) {
    fn one<H: Host>(mut w: World<H>, v6: bool, script: &[u8]) -> Vec<u8> {
        w.log = Some(Vec::new());
        let w = run(w, script);
        let mut out = vec![u8::from(v6)];
        for (i, p) in w.log.unwrap_or_default().iter().enumerate() {
            // Odd entries alternate fixed and raw checksums; every packet is 1 ms apart.
            let ctl = OP_PACKET | if i % 2 == 1 { FIX_CHECKSUMS } else { 0 };
            encode(ctl, p, &mut out);
        }
        out.extend_from_slice(script);
        out
    }
    (
        one(ip_world(v6), v6, script),
        one(frame_world(v6), v6, script),
    )
}
