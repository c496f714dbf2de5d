//! Shared by the examples (and the Linux interop tests): an uplane device (`io`'s TAP or
//! AF_PACKET) as a [`stack::net::Phy`], and the command line that picks one.

#![allow(dead_code)]

use std::sync::Arc;

use buf::{BufferCache, BufferPool, Frame, PoolConfig};
use io::device::{Device, TxBuild};
use stack::net::{InPlace, Kicker, Phy};

/// An `io` device driven burst by burst: received frames are copied out of pool buffers;
/// sent frames are built in the device's ring when it has one (AF_PACKET:
/// [`Device::tx_build`], kicked by [`Phy::kicker`]'s holder), else copied into a buffer.
#[derive(Debug)]
pub struct DevicePhy {
    dev: Box<dyn Device>,
    pool: Arc<BufferPool>,
    cache: BufferCache,
    rx: Box<Frame>,
    next: usize,
    tx: Box<Frame>,
    /// Frames were built in the ring since the last flush (sent by it, without a kicker).
    built: bool,
}

impl DevicePhy {
    /// Wraps `dev` with a pool of its own (1024 buffers).
    pub fn new(dev: Box<dyn Device>) -> DevicePhy {
        let pool = BufferPool::new(&PoolConfig::new(1024)).expect("buffer pool");
        DevicePhy {
            dev,
            cache: BufferCache::new(pool.clone()),
            pool,
            rx: Frame::boxed(),
            next: 0,
            tx: Frame::boxed(),
            built: false,
        }
    }
}

impl Phy for DevicePhy {
    fn recv(&mut self, buf: &mut [u8]) -> Option<usize> {
        if self.next >= self.rx.len() {
            self.cache.free_frame(&mut self.rx);
            self.next = 0;
            if self.dev.rx_burst(0, &mut self.cache, &mut self.rx) == 0 {
                return None;
            }
        }
        let b = &self.rx.as_slice()[self.next];
        self.next += 1;
        let data = self.pool.get(b).data();
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        Some(n)
    }

    /// Queues `frame` in the tx frame (sent by [`Phy::flush`], or now when the frame is
    /// full); dropped when the ring stays full (TCP retransmits).
    fn send(&mut self, frame: &[u8]) {
        if self.tx.is_full() {
            self.flush();
        }
        let Some(mut b) = self.cache.alloc() else {
            return;
        };
        if !self.pool.get_mut(&mut b).copy_from(frame) {
            self.cache.free(b);
            return;
        }
        if let Err(b) = self.tx.push(b) {
            self.cache.free(b);
        }
    }

    /// One burst for everything queued; what the ring refused waits for the next.
    fn flush(&mut self) {
        if !self.tx.is_empty() || self.built {
            self.built = false;
            self.dev.tx_burst(0, &mut self.tx, &mut self.cache);
        }
    }

    /// Builds in the device's ring, after what `send` queued (which goes first).
    fn send_in_place(
        &mut self,
        min_room: usize,
        build: &mut dyn FnMut(&mut [u8]) -> Option<usize>,
    ) -> InPlace {
        if !self.tx.is_empty() {
            self.flush();
            if !self.tx.is_empty() {
                return InPlace::Full;
            }
        }
        let mut small = false;
        let r = self.dev.tx_build(0, &mut |b| {
            if b.len() < min_room {
                small = true;
                return None;
            }
            build(b)
        });
        match r {
            TxBuild::Sent(_) => {
                self.built = true;
                InPlace::Sent
            }
            TxBuild::Nothing if small => InPlace::Unsupported,
            TxBuild::Nothing => InPlace::Nothing,
            TxBuild::RingFull => InPlace::Full,
            TxBuild::Unsupported => InPlace::Unsupported,
        }
    }

    fn kicker(&mut self) -> Option<Kicker> {
        let k = self.dev.take_tx_kick(0)?;
        Some(Box::new(move || k.kick()))
    }
}

impl Drop for DevicePhy {
    fn drop(&mut self) {
        self.cache.free_frame(&mut self.rx);
        self.cache.free_frame(&mut self.tx);
        self.dev.release(&mut self.cache);
    }
}

/// `--tap NAME` or `--af-packet IFNAME`, `--ip ADDR/PREFIX`, `--gw ADDR`, `--mac MAC`
/// from the command line, with the example's own flags left in `rest`.
#[derive(Debug)]
pub struct Args {
    pub device: Box<dyn Device>,
    pub config: stack::iface::InterfaceConfig,
    pub rest: Vec<String>,
}

pub fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut device: Option<Box<dyn Device>> = None;
    let mut mac = [0x02, 0x75, 0x70, 0x6c, 0x6e, 0x01];
    let mut ip: Option<(std::net::Ipv4Addr, u8)> = None;
    let mut gw = None;
    let mut rest = Vec::new();
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--tap" => {
                let name = val()?;
                let tap = io::tap::Tap::create(&name).map_err(|e| e.to_string())?;
                device = Some(Box::new(tap));
            }
            "--af-packet" => {
                let name = val()?;
                let cfg = io::af_packet::AfPacketConfig::new(&name);
                let dev = io::af_packet::AfPacket::open(&cfg).map_err(|e| e.to_string())?;
                device = Some(Box::new(dev));
            }
            "--ip" => {
                let v = val()?;
                let (a, p) = v.split_once('/').ok_or("--ip ADDR/PREFIX")?;
                ip = Some((
                    a.parse().map_err(|_| "bad --ip address")?,
                    p.parse().map_err(|_| "bad --ip prefix")?,
                ));
            }
            "--gw" => gw = Some(val()?.parse().map_err(|_| "bad --gw")?),
            "--mac" => {
                let v = val()?;
                let parts: Vec<u8> = v
                    .split(':')
                    .map(|x| u8::from_str_radix(x, 16))
                    .collect::<Result<_, _>>()
                    .map_err(|_| "bad --mac")?;
                mac = parts.try_into().map_err(|_| "bad --mac")?;
            }
            _ => rest.push(a),
        }
    }
    let device = device.ok_or("--tap NAME or --af-packet IFNAME is required")?;
    let mut config = stack::iface::InterfaceConfig::new(mac);
    config.ipv4 = Some(ip.ok_or("--ip ADDR/PREFIX is required")?);
    config.gateway4 = gw;
    let mut secret = [0u8; 16];
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(1);
    secret.copy_from_slice(&(t ^ u128::from(std::process::id()) << 64).to_le_bytes());
    config.endpoint.secret = secret;
    Ok(Args {
        device,
        config,
        rest,
    })
}

/// Starts the stack on the device from the command line.
pub fn start() -> (stack::net::Net, Vec<String>) {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!(
                "usage: {} (--tap NAME | --af-packet IFNAME) --ip ADDR/PREFIX [--gw ADDR] [--mac MAC] ...",
                std::env::args().next().unwrap_or_default()
            );
            std::process::exit(2);
        }
    };
    let stack = stack::socket::Stack::new(stack::iface::Interface::new(args.config));
    let net = stack::net::Net::spawn(
        stack,
        DevicePhy::new(args.device),
        stack::net::NetConfig::default(),
    );
    (net, args.rest)
}

/// A stack at `ip`/24 with MAC `mac` and a `send_buffer`-byte TCP send buffer, run by the
/// blocking layer on `device` (the tests' and benches' AF_PACKET socket on a veth end).
pub fn spawn_net(
    device: Box<dyn Device>,
    mac: [u8; 6],
    ip: std::net::Ipv4Addr,
    send_buffer: u32,
) -> stack::net::Net {
    let mut c = stack::iface::InterfaceConfig::new(mac);
    c.ipv4 = Some((ip, 24));
    c.endpoint.secret = [0x42; 16];
    c.endpoint.tcp = Arc::new(stack::TcpConfig {
        send_buffer,
        ..stack::TcpConfig::default()
    });
    stack::net::Net::spawn(
        stack::socket::Stack::new(stack::iface::Interface::new(c)),
        DevicePhy::new(device),
        stack::net::NetConfig::default(),
    )
}

/// Echo server body: a thread per connection, each byte sent back until end of stream.
pub fn serve_echo(listener: stack::net::TcpListener) {
    use std::io::{Read, Write};
    while let Ok((mut s, _peer)) = listener.accept() {
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            loop {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if s.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = s.shutdown(std::net::Shutdown::Write);
            let _ = s.wait_sent();
        });
    }
}

/// HTTP/1.1 server body: `GET /` is a small page, `GET /bytes/N` N generated bytes
/// (`pattern_byte`), anything else 404. One request per connection (`Connection: close`).
pub fn serve_http(listener: stack::net::TcpListener) {
    while let Ok((s, peer)) = listener.accept() {
        std::thread::spawn(move || {
            let _ = http_one(s, peer);
        });
    }
}

/// The byte at offset `i` of `/bytes/N`.
pub fn pattern_byte(i: usize) -> u8 {
    (i.wrapping_mul(7) ^ (i >> 8)) as u8
}

fn http_one(mut s: stack::net::TcpStream, peer: std::net::SocketAddr) -> std::io::Result<()> {
    use std::io::{Read, Write};
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let mut req = Vec::new();
    let mut buf = [0u8; 4096];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut buf)?;
        if n == 0 || req.len() > 64 * 1024 {
            return Ok(());
        }
        req.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&req);
    let path = line
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("GET "))
        .and_then(|l| l.split(' ').next())
        .unwrap_or("");
    if path == "/" {
        let body = format!(
            "<html><body><h1>uplane stack</h1><p>hello {peer}, from a userland TCP/IP stack</p></body></html>\n"
        );
        write!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
    } else if let Some(n) = path
        .strip_prefix("/bytes/")
        .and_then(|n| n.parse::<usize>().ok())
    {
        write!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {n}\r\nConnection: close\r\n\r\n"
        )?;
        let mut chunk = vec![0u8; 65536];
        let mut at = 0;
        while at < n {
            let len = chunk.len().min(n - at);
            for (k, b) in chunk[..len].iter_mut().enumerate() {
                *b = pattern_byte(at + k);
            }
            s.write_all(&chunk[..len])?;
            at += len;
        }
    } else {
        s.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\nConnection: close\r\n\r\nnot found\n",
        )?;
    }
    s.shutdown(std::net::Shutdown::Write)?;
    s.wait_sent()
}
