//! `[[service]]`: small TCP services on uplane's own stack (`echo`, `discard`, `http`).
//!
//! They run inside the graph's `stack-output` node ([`super::stack_node`]), on the thread
//! that dispatches that graph (the main thread with `workers = 0`; with N workers every
//! graph has its own stack and copy of the services, and a connection stays on the worker
//! its flow hashes to). They use the stack's non-blocking calls only: each run accepts
//! what is queued, reads and writes what it can without waiting, and returns; a
//! connection that would go on longer than [`ROUNDS`] reads is served again at the next
//! dispatch. Nothing here blocks the data path.
//!
//! * `echo` (RFC 862): sends back what it reads; when the peer's bytes cannot be sent
//!   (send buffer full) it stops reading until the stack says writable (flow control
//!   reaches the peer through the receive window).
//! * `discard` (RFC 863): reads and drops.
//! * `http`: HTTP/1.1 `GET`/`HEAD` of `/` or `/status` returns a text status page
//!   (uptime, interfaces with their rx/tx counters, the stack's counters, `show runtime`);
//!   other paths 404, other methods 405, a request head over 8 KiB 431. Keep-alive unless
//!   the request says `Connection: close` (or is HTTP/1.0 without keep-alive).

use super::cli::{if_rows, DeviceCounters};
use super::workers;
use crate::config::ServiceConfig;
use graph::GraphStats;
use stack::ip::IpHost;
use stack::{ConnectionHandle, Event, RecvError, SendError};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use vnet::Vnet;

/// Reads per connection per run before it waits for the next dispatch.
pub const ROUNDS: usize = 16;
/// Largest HTTP request head accepted.
const MAX_REQUEST: usize = 8192;
/// Accept and SYN queue bound per listener.
const BACKLOG: usize = 128;
/// Connections served at once by one stack's services; more are reset at accept.
pub const MAX_CONNS: usize = 4096;

/// A service's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// RFC 862.
    Echo,
    /// RFC 863.
    Discard,
    /// The status page.
    Http,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        match s {
            "echo" => Some(Kind::Echo),
            "discard" => Some(Kind::Discard),
            "http" => Some(Kind::Http),
            _ => None,
        }
    }
}

/// What the status page reads: counters other threads write, read without stopping them.
#[derive(Debug, Clone)]
pub struct StatusSource {
    /// When the daemon started.
    pub start: Instant,
    /// Interfaces (names, state).
    pub vnet: Vnet,
    /// Device counters by interface, kept current as interfaces come and go.
    pub devices: DeviceCounters,
    /// Every graph's node counters.
    pub graphs: Vec<Arc<GraphStats>>,
}

impl StatusSource {
    /// The status page text. `stack` is this graph's stack (its counters are shown).
    pub fn render(&self, host: &IpHost, conns: usize) -> String {
        let mut t = String::with_capacity(4096);
        let _ = writeln!(t, "uplane {} status", env!("CARGO_PKG_VERSION"));
        let _ = writeln!(t, "uptime: {} s", self.start.elapsed().as_secs());
        let _ = writeln!(t);
        let _ = writeln!(
            t,
            "{:<16}{:>5} {:<6}{:>14}{:>16}{:>14}{:>16}{:>10}",
            "interface",
            "idx",
            "state",
            "rx_packets",
            "rx_bytes",
            "tx_packets",
            "tx_bytes",
            "drops"
        );
        for r in if_rows(&self.vnet, &self.devices) {
            let _ = writeln!(
                t,
                "{:<16}{:>5} {:<6}{:>14}{:>16}{:>14}{:>16}{:>10}",
                r.name,
                r.index,
                r.state,
                r.rx_packets,
                r.rx_bytes,
                r.tx_packets,
                r.tx_bytes,
                r.drops
            );
        }
        let e = host.endpoint().stats();
        let s = host.stats();
        let _ = writeln!(t);
        let _ = writeln!(
            t,
            "stack (this graph): rx_packets {} tx_packets {} drops {} connections {} served {} opened {} closed {} rst_sent {}",
            s.rx_packets,
            s.tx_packets,
            s.total_drops(),
            host.endpoint().connection_count(),
            conns,
            e.connections_opened,
            e.connections_closed,
            e.rst_sent
        );
        let _ = writeln!(t);
        let _ = writeln!(t, "runtime:");
        t.push_str(&workers::format_runtime(&workers::runtime(&self.graphs)));
        t
    }
}

#[derive(Debug)]
struct Conn {
    kind: Kind,
    /// Bytes to send (echo's unsent bytes, an HTTP response), from `sent` on.
    out: Vec<u8>,
    sent: usize,
    /// HTTP: the request bytes read so far.
    req: Vec<u8>,
    /// Peer sent FIN and everything was read.
    eof: bool,
    /// Close once `out` is sent (HTTP `Connection: close`, end of stream).
    close_after: bool,
    /// `close` was called.
    closed: bool,
}

/// The services of one stack. See the module documentation.
#[derive(Debug)]
pub struct Services {
    listeners: Vec<(SocketAddr, Kind)>,
    conns: HashMap<ConnectionHandle, Conn>,
    ready: Vec<ConnectionHandle>,
    again: Vec<ConnectionHandle>,
    buf: Box<[u8]>,
    status: Option<StatusSource>,
}

impl Services {
    /// Listens on every service's address on `host`. Refuses a kind it does not know or
    /// an address taken twice.
    pub fn new(
        host: &mut IpHost,
        list: &[ServiceConfig],
        status: Option<StatusSource>,
    ) -> Result<Services, String> {
        let mut listeners = Vec::new();
        for (i, s) in list.iter().enumerate() {
            let kind = Kind::parse(&s.kind)
                .ok_or_else(|| format!("service[{i}].kind: {:?} is not a service", s.kind))?;
            host.endpoint_mut()
                .listen(s.listen, BACKLOG)
                .map_err(|e| format!("service[{i}].listen {}: {e}", s.listen))?;
            listeners.push((s.listen, kind));
        }
        Ok(Services {
            listeners,
            conns: HashMap::new(),
            ready: Vec::new(),
            again: Vec::new(),
            buf: vec![0u8; 16 * 1024].into_boxed_slice(),
            status,
        })
    }

    /// Connections being served.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// Accepts new connections, takes the stack's events and serves every connection
    /// that has something to do, without waiting.
    pub fn run(&mut self, now: u64, host: &mut IpHost) {
        let mut ready = std::mem::take(&mut self.ready);
        ready.clear();
        ready.append(&mut self.again);
        for &(addr, kind) in &self.listeners {
            while let Some(h) = host.endpoint_mut().accept(addr) {
                if self.conns.len() >= MAX_CONNS {
                    host.endpoint_mut().abort(now, h);
                    continue;
                }
                self.conns.insert(
                    h,
                    Conn {
                        kind,
                        out: Vec::new(),
                        sent: 0,
                        req: Vec::new(),
                        eof: false,
                        close_after: false,
                        closed: false,
                    },
                );
                ready.push(h);
            }
        }
        while let Some((h, ev)) = host.endpoint_mut().poll_event() {
            match ev {
                Event::Closed(_) => {
                    self.conns.remove(&h);
                }
                _ => ready.push(h),
            }
        }
        // A handle listed twice is served twice: the second finds nothing to do.
        for &h in &ready {
            if self.conns.contains_key(&h) {
                self.serve(now, host, h);
            }
        }
        self.ready = ready;
    }

    fn serve(&mut self, now: u64, host: &mut IpHost, h: ConnectionHandle) {
        let Some(mut c) = self.conns.remove(&h) else {
            return;
        };
        let keep = self.serve_conn(now, host, h, &mut c);
        if keep {
            self.conns.insert(h, c);
        }
    }

    /// Serves one connection; false when it is gone.
    fn serve_conn(
        &mut self,
        now: u64,
        host: &mut IpHost,
        h: ConnectionHandle,
        c: &mut Conn,
    ) -> bool {
        for _ in 0..ROUNDS {
            // Send what waits first.
            while c.sent < c.out.len() {
                match host.endpoint_mut().send(h, &c.out[c.sent..]) {
                    Ok(n) => c.sent += n,
                    Err(SendError::WouldBlock) => return true,
                    Err(_) => {
                        host.endpoint_mut().abort(now, h);
                        return false;
                    }
                }
            }
            c.out.clear();
            c.sent = 0;
            if c.kind == Kind::Http && !c.close_after {
                // A pipelined request already read.
                if self.http_answer(host, c) {
                    continue;
                }
            }
            let ep = host.endpoint_mut();
            if (c.close_after || c.eof) && !c.closed {
                c.closed = true;
                let _ = ep.close(now, h);
            }
            if c.eof {
                return true;
            }
            match ep.recv(h, &mut self.buf) {
                Ok(Some(n)) => match c.kind {
                    Kind::Discard => {}
                    Kind::Echo => {
                        if !c.closed {
                            c.out.extend_from_slice(&self.buf[..n]);
                        }
                    }
                    Kind::Http => {
                        if c.close_after {
                            continue;
                        }
                        if c.req.len() + n > MAX_REQUEST {
                            c.req.clear();
                            respond(
                                &mut c.out,
                                431,
                                "Request Header Fields Too Large",
                                "text/plain",
                                b"request head too large\n",
                                false,
                            );
                            c.close_after = true;
                        } else {
                            c.req.extend_from_slice(&self.buf[..n]);
                        }
                    }
                },
                Ok(None) => c.eof = true,
                Err(RecvError::WouldBlock) => return true,
                Err(RecvError::ConnectionLost(_)) => return false,
            }
            let ep = host.endpoint_mut();
            // Echo: send at once what was read (the loop's head retries what is left).
            if c.kind == Kind::Echo && !c.out.is_empty() {
                match ep.send(h, &c.out) {
                    Ok(n) => c.sent = n,
                    Err(SendError::WouldBlock) => {}
                    Err(_) => {
                        ep.abort(now, h);
                        return false;
                    }
                }
            }
        }
        // Used up its rounds: go on at the next dispatch.
        self.again.push(h);
        true
    }

    /// If `c.req` holds a whole request head, queues its answer in `c.out` and returns
    /// true.
    fn http_answer(&self, host: &IpHost, c: &mut Conn) -> bool {
        let Some(end) = c.req.windows(4).position(|w| w == b"\r\n\r\n") else {
            return false;
        };
        let head = String::from_utf8_lossy(&c.req[..end]).into_owned();
        c.req.drain(..end + 4);
        let mut lines = head.split("\r\n");
        let first = lines.next().unwrap_or("");
        let mut parts = first.split(' ');
        let (method, path, version) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        let mut keep_alive = version == "HTTP/1.1";
        for l in lines {
            if let Some((k, v)) = l.split_once(':') {
                if k.trim().eq_ignore_ascii_case("connection") {
                    let v = v.trim();
                    if v.eq_ignore_ascii_case("close") {
                        keep_alive = false;
                    } else if v.eq_ignore_ascii_case("keep-alive") {
                        keep_alive = true;
                    }
                }
            }
        }
        if !version.starts_with("HTTP/1.") {
            respond(
                &mut c.out,
                400,
                "Bad Request",
                "text/plain",
                b"bad request\n",
                false,
            );
            c.close_after = true;
            return true;
        }
        let head_only = method == "HEAD";
        if method != "GET" && !head_only {
            respond(
                &mut c.out,
                405,
                "Method Not Allowed",
                "text/plain",
                b"only GET and HEAD\n",
                false,
            );
            c.close_after = true;
            return true;
        }
        let (code, reason, body) = match path {
            "/" | "/status" => {
                let page = match &self.status {
                    Some(s) => s.render(host, self.conns.len() + 1),
                    None => String::from("uplane\n"),
                };
                (200, "OK", page.into_bytes())
            }
            _ => (404, "Not Found", format!("no page {path}\n").into_bytes()),
        };
        let shown: &[u8] = if head_only { b"" } else { &body };
        respond_len(
            &mut c.out,
            code,
            reason,
            "text/plain; charset=utf-8",
            shown,
            body.len(),
            keep_alive,
        );
        if !keep_alive {
            c.close_after = true;
        }
        true
    }
}

fn respond(out: &mut Vec<u8>, code: u16, reason: &str, ctype: &str, body: &[u8], keep: bool) {
    respond_len(out, code, reason, ctype, body, body.len(), keep)
}

fn respond_len(
    out: &mut Vec<u8>,
    code: u16,
    reason: &str,
    ctype: &str,
    body: &[u8],
    len: usize,
    keep: bool,
) {
    let conn = if keep { "keep-alive" } else { "close" };
    let _ = write!(
        VecWriter(out),
        "HTTP/1.1 {code} {reason}\r\nServer: uplane\r\nContent-Type: {ctype}\r\nContent-Length: {len}\r\nConnection: {conn}\r\n\r\n"
    );
    out.extend_from_slice(body);
}

struct VecWriter<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! The services against a client on a second `IpHost`, packets moved in memory.
    use super::*;
    use stack::ip::IpHostConfig;
    use wire::ethernet::EthernetAddress;

    const SERVER: &str = "10.1.0.1";

    struct Net {
        server: IpHost,
        services: Services,
        client: IpHost,
        now: u64,
    }

    impl Net {
        fn new() -> Net {
            Net::with_status(None)
        }

        fn with_status(status: Option<StatusSource>) -> Net {
            let mut server = IpHost::new(IpHostConfig::default());
            let list: Vec<ServiceConfig> = [("echo", 7), ("discard", 9), ("http", 80)]
                .iter()
                .map(|(k, p)| ServiceConfig {
                    kind: k.to_string(),
                    listen: format!("{SERVER}:{p}").parse().unwrap(),
                })
                .collect();
            let services = Services::new(&mut server, &list, status).unwrap();
            let mut c = IpHostConfig::default();
            c.endpoint.secret = [9; 16];
            Net {
                server,
                services,
                client: IpHost::new(c),
                now: 1_000_000,
            }
        }

        /// Moves packets and runs the services until quiet.
        fn pump(&mut self) {
            let mut buf = vec![0u8; 1500];
            for _ in 0..10_000 {
                self.services.run(self.now, &mut self.server);
                let mut any = false;
                while let Some(n) = self.server.poll_transmit(self.now, &mut buf) {
                    self.client.handle_ip_packet(self.now, &buf[..n]).unwrap();
                    any = true;
                }
                while let Some(n) = self.client.poll_transmit(self.now, &mut buf) {
                    self.server.handle_ip_packet(self.now, &buf[..n]).unwrap();
                    any = true;
                }
                self.now += 50_000;
                for h in [&mut self.server, &mut self.client] {
                    if h.poll_timeout().is_some_and(|t| t <= self.now) {
                        h.handle_timeout(self.now);
                    }
                }
                if !any && self.services.again.is_empty() {
                    return;
                }
            }
        }

        fn connect(&mut self, port: u16, sport: u16) -> ConnectionHandle {
            let c = self
                .client
                .endpoint_mut()
                .connect(
                    self.now,
                    format!("10.1.0.2:{sport}").parse().unwrap(),
                    format!("{SERVER}:{port}").parse().unwrap(),
                )
                .unwrap();
            self.pump();
            c
        }

        /// Sends `req` on `c` and returns what comes back (and whether the server closed).
        fn exchange(&mut self, c: ConnectionHandle, req: &[u8]) -> (Vec<u8>, bool) {
            let mut off = 0;
            let mut got = Vec::new();
            let mut eof = false;
            let mut buf = vec![0u8; 65536];
            for _ in 0..1000 {
                if off < req.len() {
                    off += self.client.endpoint_mut().send(c, &req[off..]).unwrap_or(0);
                }
                self.pump();
                loop {
                    match self.client.endpoint_mut().recv(c, &mut buf) {
                        Ok(Some(n)) => got.extend_from_slice(&buf[..n]),
                        Ok(None) => {
                            eof = true;
                            break;
                        }
                        Err(_) => break,
                    }
                }
                if off == req.len() && (eof || !got.is_empty()) {
                    self.pump();
                    while let Ok(Some(n)) = self.client.endpoint_mut().recv(c, &mut buf) {
                        got.extend_from_slice(&buf[..n]);
                    }
                    if let Ok(None) = self.client.endpoint_mut().recv(c, &mut buf) {
                        eof = true;
                    }
                    break;
                }
            }
            (got, eof)
        }
    }

    fn text(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    #[test]
    fn http_answers_keep_alive_404_405_head_and_too_large() {
        let mut n = Net::new();
        let c = n.connect(80, 40000);
        let (r, eof) = n.exchange(c, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        let r = text(&r);
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n") && !eof, "{r}");
        assert!(
            r.contains("Content-Length: 7\r\n") && r.ends_with("\r\n\r\nuplane\n"),
            "{r}"
        );
        assert!(r.contains("Connection: keep-alive"), "{r}");
        // Two pipelined requests on the same connection, then HEAD.
        let (r, _) = n.exchange(
            c,
            b"GET /nope HTTP/1.1\r\n\r\nHEAD /status HTTP/1.1\r\nConnection: close\r\n\r\n",
        );
        let r = text(&r);
        let (first, second) = r.split_at(r.find("HTTP/1.1 200").expect(&r));
        assert!(first.starts_with("HTTP/1.1 404 Not Found\r\n"), "{r}");
        assert!(first.ends_with("no page /nope\n"), "{r}");
        assert!(
            second.contains("Content-Length: 7\r\n") && second.ends_with("\r\n\r\n"),
            "HEAD has no body: {r}"
        );
        assert!(second.contains("Connection: close"), "{r}");
        let (_, eof) = n.exchange(c, b"");
        assert!(eof, "the server did not close after Connection: close");

        let c = n.connect(80, 40001);
        let (r, eof) = n.exchange(c, b"POST / HTTP/1.1\r\n\r\n");
        assert!(text(&r).starts_with("HTTP/1.1 405 ") && eof, "{}", text(&r));

        let c = n.connect(80, 40002);
        let big = vec![b'a'; MAX_REQUEST + 100];
        let (r, eof) = n.exchange(c, &big);
        assert!(text(&r).starts_with("HTTP/1.1 431 ") && eof, "{}", text(&r));

        let c = n.connect(80, 40003);
        let (r, eof) = n.exchange(c, b"GET / HTTP/1.0\r\n\r\n");
        assert!(
            text(&r).starts_with("HTTP/1.1 200 ") && eof,
            "HTTP/1.0 closes: {}",
            text(&r)
        );
    }

    #[test]
    fn echo_returns_everything_and_discard_takes_everything() {
        let mut n = Net::new();
        let c = n.connect(7, 41000);
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let (r, _) = n.exchange(c, &data);
        let mut r = r;
        let mut buf = vec![0u8; 65536];
        for _ in 0..100 {
            if r.len() == data.len() {
                break;
            }
            n.pump();
            while let Ok(Some(k)) = n.client.endpoint_mut().recv(c, &mut buf) {
                r.extend_from_slice(&buf[..k]);
            }
        }
        assert_eq!(r.len(), data.len());
        assert!(r == data, "echo changed the bytes");
        // The client closes: the server closes too.
        n.client.endpoint_mut().close(n.now, c).unwrap();
        n.pump();
        assert!(matches!(
            n.client.endpoint_mut().recv(c, &mut buf),
            Ok(None)
        ));

        let d = n.connect(9, 41001);
        let (r, _) = n.exchange(d, &data[..100_000]);
        assert!(r.is_empty());
        // The echo connection ended (passive close: LAST-ACK, then gone); discard's lives.
        assert_eq!(n.services.connections(), 1);
        assert!(n.server.endpoint().stats().connections_closed >= 1);
    }

    #[test]
    fn status_page_lists_an_interface_added_after_start_with_its_counters() {
        let vnet = Vnet::new();
        let devices = DeviceCounters::default();
        let status = StatusSource {
            start: Instant::now(),
            vnet: vnet.clone(),
            devices: devices.clone(),
            graphs: Vec::new(),
        };
        let mut n = Net::with_status(Some(status));
        let page = |n: &mut Net, sport: u16| {
            let c = n.connect(80, sport);
            let (r, eof) = n.exchange(c, b"GET /status HTTP/1.0\r\n\r\n");
            assert!(eof);
            text(&r)
        };
        let r = page(&mut n, 42000);
        assert!(
            r.starts_with("HTTP/1.1 200 ") && !r.contains("late0"),
            "{r}"
        );

        // What `create host-interface` does after start: a vnet interface and its
        // device's counters; then the device moves packets.
        let idx = {
            let mut ifs = vnet.interfaces_mut();
            let idx = ifs
                .add_hw("late0", EthernetAddress([2, 0, 0, 0, 0, 9]), "null-output")
                .unwrap();
            ifs.set_admin_up(idx, true).unwrap();
            idx
        };
        let stats = io::device::DeviceStats::new(2, 1);
        devices.insert(idx, stats.clone());
        stats.rx[0].packets.add(3);
        stats.rx[1].packets.add(4);
        stats.rx[0].bytes.add(700);
        stats.tx[0].packets.add(5);
        stats.tx[0].bytes.add(640);
        stats.tx[0].drops.add(1);
        let r = page(&mut n, 42001);
        let row: Vec<&str> = r
            .lines()
            .find(|l| l.starts_with("late0 "))
            .unwrap_or_else(|| panic!("no late0 row: {r}"))
            .split_whitespace()
            .collect();
        assert_eq!(
            row,
            ["late0", &idx.to_string(), "up", "7", "700", "5", "640", "1"],
            "{r}"
        );

        // Deleted: gone from the page.
        devices.remove(idx);
        vnet.interfaces_mut().remove(idx).unwrap();
        let r = page(&mut n, 42002);
        assert!(!r.contains("late0"), "{r}");
    }
}
