//! Shared pieces of the device tests: a tiny ARP + ICMP echo responder built with `wire`,
//! and a loop that serves a device until a condition holds.

#![allow(dead_code)]

use buf::{BufferCache, BufferPool, Frame, PoolConfig};
use io::device::Device;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wire::arp::{ArpPacket, ArpRepr, Operation};
use wire::ethernet::{EthernetAddress, EthernetFrame, EthernetRepr};
use wire::icmpv4::{Icmpv4Packet, Icmpv4Repr};
use wire::ipv4::{Ipv4Options, Ipv4Packet, Ipv4Repr};
use wire::{EtherType, IpProtocol};

/// A pool and a cache for one test.
pub fn pool(n: u32) -> (Arc<BufferPool>, BufferCache) {
    let pool = BufferPool::new(&PoolConfig::new(n)).unwrap();
    let cache = BufferCache::new(pool.clone());
    (pool, cache)
}

/// Answers ARP requests for `ip` and ICMP echo requests to `ip` as `mac`.
#[derive(Debug)]
pub struct Responder {
    pub mac: [u8; 6],
    pub ip: Ipv4Addr,
    pub arp_replies: u64,
    pub echo_replies: u64,
}

impl Responder {
    /// A responder for `ip` at `mac`.
    pub fn new(mac: [u8; 6], ip: &str) -> Responder {
        Responder {
            mac,
            ip: ip.parse().unwrap(),
            arp_replies: 0,
            echo_replies: 0,
        }
    }

    /// Writes the reply to `req` into `out` and returns its length, or `None`.
    pub fn reply(&mut self, req: &[u8], out: &mut [u8]) -> Option<usize> {
        let eth = EthernetFrame::new_checked(req).ok()?;
        let er = EthernetRepr::parse(&eth).ok()?;
        match er.ethertype {
            EtherType::Arp => {
                let arp = ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).ok()?).ok()?;
                if arp.operation != Operation::Request || arp.target_protocol_addr != self.ip {
                    return None;
                }
                let reply = ArpRepr {
                    operation: Operation::Reply,
                    source_hardware_addr: EthernetAddress(self.mac),
                    source_protocol_addr: self.ip,
                    target_hardware_addr: arp.source_hardware_addr,
                    target_protocol_addr: arp.source_protocol_addr,
                };
                let len = 14 + reply.buffer_len();
                let mut f = EthernetFrame::new_unchecked(&mut out[..len]);
                EthernetRepr {
                    src_addr: EthernetAddress(self.mac),
                    dst_addr: er.src_addr,
                    ethertype: EtherType::Arp,
                }
                .emit(&mut f);
                reply.emit(&mut ArpPacket::new_unchecked(f.payload_mut()));
                self.arp_replies += 1;
                Some(len)
            }
            EtherType::Ipv4 => {
                let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
                let ir = Ipv4Repr::parse(&ip, true).ok()?;
                if ir.dst_addr != self.ip || ir.protocol != IpProtocol::Icmp {
                    return None;
                }
                let icmp = Icmpv4Packet::new_checked(ip.payload()).ok()?;
                let Icmpv4Repr::EchoRequest {
                    ident,
                    seq_no,
                    data,
                } = Icmpv4Repr::parse(&icmp).ok()?
                else {
                    return None;
                };
                let echo = Icmpv4Repr::EchoReply {
                    ident,
                    seq_no,
                    data,
                };
                let ipr = Ipv4Repr {
                    src_addr: self.ip,
                    dst_addr: ir.src_addr,
                    protocol: IpProtocol::Icmp,
                    payload_len: echo.buffer_len() as u16,
                    ttl: 64,
                    dscp: 0,
                    ecn: 0,
                    ident: seq_no,
                    dont_frag: false,
                    more_frags: false,
                    frag_offset: 0,
                    options: Ipv4Options::EMPTY,
                };
                let len = 14 + ipr.buffer_len() + echo.buffer_len();
                let mut f = EthernetFrame::new_unchecked(&mut out[..len]);
                EthernetRepr {
                    src_addr: EthernetAddress(self.mac),
                    dst_addr: er.src_addr,
                    ethertype: EtherType::Ipv4,
                }
                .emit(&mut f);
                let mut ipp = Ipv4Packet::new_unchecked(f.payload_mut());
                ipr.emit(&mut ipp);
                let hl = ipr.buffer_len();
                echo.emit(&mut Icmpv4Packet::new_unchecked(
                    &mut ipp.into_inner()[hl..],
                ));
                self.echo_replies += 1;
                Some(len)
            }
            _ => None,
        }
    }
}

/// Polls `dev` queue 0, answering with `resp`, until `done` returns true or `limit` passes.
/// Every received frame is given to `seen`. Returns true if `done` became true.
pub fn serve(
    dev: &mut dyn Device,
    cache: &mut BufferCache,
    resp: &mut Responder,
    limit: Duration,
    mut seen: impl FnMut(&[u8]),
    mut done: impl FnMut() -> bool,
) -> bool {
    let mut rx = Frame::new();
    let mut tx = Frame::new();
    let mut scratch = [0u8; 2048];
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        let n = dev.rx_burst(0, cache, &mut rx);
        for b in rx.drain() {
            let pool = cache.pool().clone();
            let data = pool.get(&b).data();
            seen(data);
            match resp.reply(data, &mut scratch) {
                Some(len) => {
                    let mut b = b;
                    pool.get_mut(&mut b).copy_from(&scratch[..len]);
                    if let Err(b) = tx.push(b) {
                        cache.free(b);
                    }
                }
                None => cache.free(b),
            }
        }
        while !tx.is_empty() {
            if dev.tx_burst(0, &mut tx, cache) == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        if n == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    done()
}
