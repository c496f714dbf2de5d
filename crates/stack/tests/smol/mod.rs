//! A smoltcp host on an in-memory Ethernet link, as an interop peer (and the benchmark's
//! comparison pair): frames in and out through queues, time supplied by the caller.

#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::socket::tcp;
use smoltcp::time::Instant as SmolInstant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr};

/// Frames waiting in each direction; frame buffers are recycled (`free`), so a steady
/// flow allocates nothing.
#[derive(Debug, Default)]
pub struct QueueDevice {
    pub rx: VecDeque<Vec<u8>>,
    pub tx: VecDeque<Vec<u8>>,
    pub free: Vec<Vec<u8>>,
    /// Buffers given back by rx tokens (merged into `free` on the next call).
    pub spare: Vec<Vec<u8>>,
}

pub struct Rx<'a>(Option<Vec<u8>>, &'a mut Vec<Vec<u8>>);
pub struct Tx<'a>(&'a mut VecDeque<Vec<u8>>, &'a mut Vec<Vec<u8>>);

impl RxToken for Rx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(mut self, f: F) -> R {
        let v = self.0.take().unwrap_or_default();
        let r = f(&v);
        self.1.push(v);
        r
    }
}

impl TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut v = self.1.pop().unwrap_or_default();
        v.clear();
        v.resize(len, 0);
        let r = f(&mut v);
        self.0.push_back(v);
        r
    }
}

impl Device for QueueDevice {
    type RxToken<'a> = Rx<'a>;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _t: SmolInstant) -> Option<(Rx<'_>, Tx<'_>)> {
        self.free.append(&mut self.spare);
        let f = self.rx.pop_front()?;
        let QueueDevice {
            tx, free, spare, ..
        } = self;
        Some((Rx(Some(f), spare), Tx(tx, free)))
    }

    fn transmit(&mut self, _t: SmolInstant) -> Option<Tx<'_>> {
        self.free.append(&mut self.spare);
        Some(Tx(&mut self.tx, &mut self.free))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut c = DeviceCapabilities::default();
        c.medium = Medium::Ethernet;
        c.max_transmission_unit = 1514;
        c
    }
}

pub struct SmolHost {
    pub dev: QueueDevice,
    pub iface: Interface,
    pub sockets: SocketSet<'static>,
}

pub fn smol_now(ns: u64) -> SmolInstant {
    SmolInstant::from_micros((ns / 1000) as i64)
}

impl SmolHost {
    pub fn new(mac: [u8; 6], ip: [u8; 4], now_ns: u64) -> Self {
        let mut dev = QueueDevice::default();
        let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
        config.random_seed = 7;
        let mut iface = Interface::new(config, &mut dev, smol_now(now_ns));
        iface.update_ip_addrs(|a| {
            a.push(IpCidr::new(IpAddress::v4(ip[0], ip[1], ip[2], ip[3]), 24))
                .unwrap();
        });
        SmolHost {
            dev,
            iface,
            sockets: SocketSet::new(vec![]),
        }
    }

    pub fn tcp_socket(&mut self, buffer: usize) -> SocketHandle {
        let rx = tcp::SocketBuffer::new(vec![0u8; buffer]);
        let tx = tcp::SocketBuffer::new(vec![0u8; buffer]);
        self.sockets.add(tcp::Socket::new(rx, tx))
    }

    pub fn poll(&mut self, now_ns: u64) {
        self.iface
            .poll(smol_now(now_ns), &mut self.dev, &mut self.sockets);
    }

    /// Nanoseconds until smoltcp wants to be polled again.
    pub fn delay_ns(&mut self, now_ns: u64) -> Option<u64> {
        self.iface
            .poll_delay(smol_now(now_ns), &self.sockets)
            .map(|d| d.total_micros() * 1000)
    }

    pub fn tcp(&mut self, h: SocketHandle) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket<'static>>(h)
    }
}
