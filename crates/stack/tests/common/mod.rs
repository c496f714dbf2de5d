//! A deterministic two-endpoint simulation, after quinn-proto's `Pair`: a virtual clock,
//! and a seeded link that loses, duplicates, reorders and delays segments. Every segment
//! crosses the link as bytes (emitted and parsed by `wire`, checksums included).

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;

use stack::{ConnectionHandle, Endpoint, EndpointConfig, FourTuple, Instant, TcpConfig, MILLIS};
use wire::pseudo::PseudoHeader;
use wire::tcp::{TcpPacket, TcpRepr};

/// splitmix64: small, seeded, good enough for link decisions.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 1.0 < p
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
}

/// What the link does to each segment.
#[derive(Debug, Clone, Copy)]
pub struct LinkConfig {
    pub latency: Instant,
    /// Extra delay up to this much, drawn per segment (so segments reorder).
    pub jitter: Instant,
    pub loss: f64,
    pub duplicate: f64,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            latency: 10 * MILLIS,
            jitter: 0,
            loss: 0.0,
            duplicate: 0.0,
        }
    }
}

#[derive(Debug)]
struct InFlight {
    at: Instant,
    order: u64,
    to_b: bool,
    src: SocketAddr,
    dst: SocketAddr,
    bytes: Vec<u8>,
}

/// Returns true to drop a segment: (sent by A?, header).
pub type Filter = Box<dyn FnMut(bool, &TcpRepr) -> bool>;

pub struct Pair {
    pub now: Instant,
    pub a: Endpoint,
    pub b: Endpoint,
    pub a_addr: SocketAddr,
    pub b_addr: SocketAddr,
    pub link: LinkConfig,
    pub rng: Rng,
    in_flight: Vec<InFlight>,
    order: u64,
    buf: Vec<u8>,
    /// Every segment put on the link, as (from A?, repr), when `record` is set.
    pub record: bool,
    pub log: Vec<(bool, TcpRepr)>,
    /// Drop the next segments matching this predicate (from A?, repr) instead of sending.
    pub filter: Option<Filter>,
}

pub fn pseudo(src: SocketAddr, dst: SocketAddr) -> PseudoHeader {
    match (src, dst) {
        (SocketAddr::V4(s), SocketAddr::V4(d)) => PseudoHeader::V4 {
            src: *s.ip(),
            dst: *d.ip(),
        },
        (SocketAddr::V6(s), SocketAddr::V6(d)) => PseudoHeader::V6 {
            src: *s.ip(),
            dst: *d.ip(),
        },
        _ => panic!("family mismatch"),
    }
}

/// Emits a segment as bytes, checksum filled.
pub fn encode(tuple: FourTuple, repr: &TcpRepr, payload: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0u8; repr.header_len() + payload.len()];
    let h = repr.header_len();
    bytes[h..].copy_from_slice(payload);
    let mut pkt = TcpPacket::new_unchecked(&mut bytes[..]);
    repr.emit(&mut pkt, Some(&pseudo(tuple.local, tuple.remote)));
    bytes
}

impl Pair {
    pub fn new(tcp: TcpConfig, link: LinkConfig, seed: u64) -> Self {
        Self::with_configs(tcp.clone(), tcp, link, seed)
    }

    pub fn with_configs(tcp_a: TcpConfig, tcp_b: TcpConfig, link: LinkConfig, seed: u64) -> Self {
        let a = Endpoint::new(EndpointConfig {
            tcp: std::sync::Arc::new(tcp_a),
            secret: [1; 16],
        });
        let b = Endpoint::new(EndpointConfig {
            tcp: std::sync::Arc::new(tcp_b),
            secret: [2; 16],
        });
        Pair {
            now: 1_000 * MILLIS,
            a,
            b,
            a_addr: "10.0.0.1:40000".parse().unwrap(),
            b_addr: "10.0.0.2:80".parse().unwrap(),
            link,
            rng: Rng::new(seed),
            in_flight: Vec::new(),
            order: 0,
            buf: Vec::new(),
            record: false,
            log: Vec::new(),
            filter: None,
        }
    }

    fn flush(&mut self, from_a: bool) -> bool {
        let mut any = false;
        loop {
            let ep = if from_a { &mut self.a } else { &mut self.b };
            let Some(t) = ep.poll_transmit(self.now, &mut self.buf) else {
                break;
            };
            any = true;
            if self.record {
                self.log.push((from_a, t.repr));
            }
            if let Some(f) = self.filter.as_mut() {
                if f(from_a, &t.repr) {
                    continue;
                }
            }
            let bytes = encode(t.tuple, &t.repr, &self.buf);
            if self.rng.chance(self.link.loss) {
                continue;
            }
            let copies = if self.rng.chance(self.link.duplicate) {
                2
            } else {
                1
            };
            for _ in 0..copies {
                let at = self.now + self.link.latency + self.rng.below(self.link.jitter + 1);
                self.order += 1;
                self.in_flight.push(InFlight {
                    at,
                    order: self.order,
                    to_b: from_a,
                    src: t.tuple.local,
                    dst: t.tuple.remote,
                    bytes: bytes.clone(),
                });
            }
        }
        any
    }

    /// Hands a segment in bytes to the endpoint it is addressed to.
    pub fn deliver(&mut self, to_b: bool, src: SocketAddr, dst: SocketAddr, bytes: &[u8]) {
        let pkt = TcpPacket::new_checked(bytes).expect("segment too short");
        let repr = TcpRepr::parse(&pkt, Some(&pseudo(src, dst))).expect("bad segment");
        let tuple = FourTuple {
            local: dst,
            remote: src,
        };
        let ep = if to_b { &mut self.b } else { &mut self.a };
        ep.handle_segment(self.now, tuple, &repr, pkt.payload());
    }

    /// Does everything due at `now`; true if anything happened.
    pub fn drive(&mut self) -> bool {
        let mut progress = self.flush(true) | self.flush(false);
        let now = self.now;
        let mut due: Vec<InFlight> = Vec::new();
        let mut i = 0;
        while i < self.in_flight.len() {
            if self.in_flight[i].at <= now {
                due.push(self.in_flight.swap_remove(i));
            } else {
                i += 1;
            }
        }
        due.sort_by_key(|p| (p.at, p.order));
        for p in &due {
            self.deliver(p.to_b, p.src, p.dst, &p.bytes);
            // The sans-IO contract: poll the output after every input (so a receiver
            // ACKs as it goes, not once per burst).
            self.flush(!p.to_b);
            progress = true;
        }
        for ep in [&mut self.a, &mut self.b] {
            if ep.poll_timeout().is_some_and(|t| t <= now) {
                ep.handle_timeout(now);
                progress = true;
            }
        }
        progress
    }

    /// The next instant anything is due, if any.
    pub fn next_event(&mut self) -> Option<Instant> {
        let link = self.in_flight.iter().map(|p| p.at).min();
        [link, self.a.poll_timeout(), self.b.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Runs until nothing is due before `until` (time stops at the last event).
    pub fn run_until(&mut self, until: Instant) {
        loop {
            while self.drive() {}
            match self.next_event() {
                Some(t) if t <= until => self.now = t.max(self.now),
                _ => return,
            }
        }
    }

    /// One drive, or else a jump to the next event; false when nothing is left before
    /// `until`.
    pub fn step(&mut self, until: Instant) -> bool {
        if self.drive() {
            return true;
        }
        match self.next_event() {
            Some(t) if t <= until => {
                self.now = t.max(self.now);
                true
            }
            _ => false,
        }
    }

    /// Opens A → B (B listening on `b_addr`) and runs the handshake.
    pub fn connect(&mut self) -> (ConnectionHandle, ConnectionHandle) {
        self.b.listen(self.b_addr, 128).unwrap();
        let ca = self.a.connect(self.now, self.a_addr, self.b_addr).unwrap();
        let limit = self.now + 600 * stack::SECONDS;
        loop {
            assert!(self.step(limit), "handshake did not complete");
            if let Some(cb) = self.b.accept(self.b_addr) {
                // A may still be waiting for its SYN-ACK (it was lost); keep going.
                while self.a.connection(ca).unwrap().state() != stack::State::Established {
                    assert!(self.step(limit), "client never established");
                }
                return (ca, cb);
            }
        }
    }
}

/// Moves `data` from `from` to `to` (A→B when `a_to_b`), closes, and returns what the
/// receiver read; both sides must see a clean close.
pub fn transfer(p: &mut Pair, data: &[u8], a_to_b: bool, limit: Instant) -> Vec<u8> {
    let (ca, cb) = p.connect();
    let (tx, rx) = if a_to_b { (ca, cb) } else { (cb, ca) };
    let mut sent = 0;
    let mut closed = false;
    let mut got = Vec::with_capacity(data.len());
    let mut scratch = vec![0u8; 64 * 1024];
    let mut eof = false;
    while !eof {
        let (sender, receiver) = if a_to_b {
            (&mut p.a, &mut p.b)
        } else {
            (&mut p.b, &mut p.a)
        };
        while sent < data.len() {
            match sender.send(tx, &data[sent..]) {
                Ok(n) => sent += n,
                Err(stack::SendError::WouldBlock) => break,
                Err(e) => panic!("send: {e}"),
            }
        }
        if sent == data.len() && !closed {
            sender.close(p.now, tx).unwrap();
            closed = true;
        }
        loop {
            match receiver.recv(rx, &mut scratch) {
                Ok(Some(n)) => got.extend_from_slice(&scratch[..n]),
                Ok(None) => {
                    eof = true;
                    break;
                }
                Err(stack::RecvError::WouldBlock) => break,
                Err(e) => panic!("recv: {e} after {} bytes", got.len()),
            }
        }
        if eof {
            break;
        }
        assert!(
            p.step(limit),
            "transfer stalled at {} of {} bytes (sent {sent})",
            got.len(),
            data.len()
        );
    }
    // The receiver closes too; both ends must reach a clean end.
    let receiver = if a_to_b { &mut p.b } else { &mut p.a };
    receiver.close(p.now, rx).unwrap();
    p.run_until(p.now + 1_000 * stack::SECONDS);
    assert_eq!(p.a.connection_count(), 0, "A still holds connections");
    assert_eq!(p.b.connection_count(), 0, "B still holds connections");
    got
}

pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut r = Rng::new(seed);
    (0..len).map(|_| r.next_u64() as u8).collect()
}
