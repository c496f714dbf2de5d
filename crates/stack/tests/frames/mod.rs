//! Two [`Stack`]s on one simulated Ethernet link, with a virtual clock: every frame
//! crosses as bytes after `latency`; a hook may drop, change or answer frames.

#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;

use stack::iface::{Interface, InterfaceConfig};
use stack::socket::{SocketEvent, Stack};
use stack::{Instant, MILLIS};

pub const MAC_A: [u8; 6] = [2, 0, 0, 0, 0, 0xa];
pub const MAC_B: [u8; 6] = [2, 0, 0, 0, 0, 0xb];

/// What the hook decides for a frame: (from A?, frame) -> frames to deliver instead
/// (each with its direction: true = to B).
pub type Hook = Box<dyn FnMut(bool, &[u8]) -> Vec<(bool, Vec<u8>)>>;

pub fn config(mac: [u8; 6], v4: &str, v6: &str, secret: u8) -> InterfaceConfig {
    let mut c = InterfaceConfig::new(mac);
    c.ipv4 = Some((v4.parse().unwrap(), 24));
    c.ipv6 = Some((v6.parse().unwrap(), 64));
    c.endpoint.secret = [secret; 16];
    c
}

pub struct Link {
    pub now: Instant,
    pub a: Stack,
    pub b: Stack,
    pub latency: Instant,
    pub hook: Option<Hook>,
    in_flight: VecDeque<(Instant, bool, Vec<u8>)>,
    buf: Vec<u8>,
    pub frames: u64,
}

impl Link {
    pub fn new() -> Self {
        Self::with(
            config(MAC_A, "10.0.0.1", "fd00::1", 1),
            config(MAC_B, "10.0.0.2", "fd00::2", 2),
        )
    }

    pub fn with(a: InterfaceConfig, b: InterfaceConfig) -> Self {
        Link {
            now: 1_000 * MILLIS,
            a: Stack::new(Interface::new(a)),
            b: Stack::new(Interface::new(b)),
            latency: MILLIS,
            hook: None,
            in_flight: VecDeque::new(),
            buf: vec![0; 2048],
            frames: 0,
        }
    }

    fn flush(&mut self) {
        for from_a in [true, false] {
            loop {
                let s = if from_a { &mut self.a } else { &mut self.b };
                let Some(n) = s.poll_transmit(self.now, &mut self.buf) else {
                    break;
                };
                self.frames += 1;
                let frame = self.buf[..n].to_vec();
                let out = match self.hook.as_mut() {
                    Some(h) => h(from_a, &frame),
                    None => vec![(from_a, frame)],
                };
                for (to_b, f) in out {
                    self.in_flight.push_back((self.now + self.latency, to_b, f));
                }
            }
        }
    }

    /// Runs until `done` holds or `limit` of virtual time passes; returns whether `done`.
    pub fn run_until(&mut self, limit: Instant, mut done: impl FnMut(&mut Self) -> bool) -> bool {
        let end = self.now + limit;
        loop {
            self.flush();
            if done(self) {
                return true;
            }
            let next_frame = self.in_flight.front().map(|f| f.0);
            let next_timer = [self.a.poll_timeout(), self.b.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let next = match (next_frame, next_timer) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => return done(self),
                },
            };
            if next > end {
                return done(self);
            }
            self.now = self.now.max(next);
            while self.in_flight.front().is_some_and(|f| f.0 <= self.now) {
                let (_, to_b, f) = self.in_flight.pop_front().unwrap();
                let s = if to_b { &mut self.b } else { &mut self.a };
                s.handle_frame(self.now, &f);
            }
            for s in [&mut self.a, &mut self.b] {
                if s.poll_timeout().is_some_and(|t| t <= self.now) {
                    s.handle_timeout(self.now);
                }
            }
        }
    }

    /// Events of one side.
    pub fn events(s: &mut Stack) -> Vec<SocketEvent> {
        let mut v = Vec::new();
        s.poll_events(&mut v, usize::MAX);
        v
    }
}

/// Deterministic test bytes.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] ^ seed)
        .collect()
}
