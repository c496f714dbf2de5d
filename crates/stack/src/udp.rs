//! UDP sockets, sans-IO: a table of bound sockets, each with a bounded receive queue, and
//! a queue of datagrams waiting to go out.
//!
//! # Call order
//! * inputs: [`UdpTable::handle_datagram`] for each datagram addressed to us (checksum
//!   already verified), [`UdpTable::handle_icmp_error`] for an ICMP error quoting one of
//!   our datagrams, and the application's [`bind`](UdpTable::bind),
//!   [`send_to`](UdpTable::send_to), [`recv_from`](UdpTable::recv_from),
//!   [`close`](UdpTable::close);
//! * outputs: [`poll_transmit`](UdpTable::poll_transmit) until `None`, and
//!   [`poll_event`](UdpTable::poll_event) until `None`.
//!
//! # Costs and bounds
//! A datagram is matched by one hash lookup of its destination address and port, then one
//! of the wildcard address for that port: no scan. Each socket holds at most
//! [`UdpConfig::recv_queue`] datagrams and [`UdpConfig::recv_bytes`] payload bytes; a
//! datagram beyond that is dropped and counted (`UdpStats::queue_full`). The transmit queue
//! is bounded the same way ([`UdpError::WouldBlock`] when full).

use std::collections::{HashMap, VecDeque};

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::isn::TableBuildHasher;

/// Bounds of the UDP table.
#[derive(Debug, Clone, Copy)]
pub struct UdpConfig {
    /// Datagrams a socket's receive queue holds at most (default 256).
    pub recv_queue: usize,
    /// Payload bytes a socket's receive queue holds at most (default 256 KiB).
    pub recv_bytes: usize,
    /// Datagrams waiting for transmission, all sockets together (default 1024).
    pub send_queue: usize,
}

impl Default for UdpConfig {
    fn default() -> Self {
        UdpConfig {
            recv_queue: 256,
            recv_bytes: 256 * 1024,
            send_queue: 1024,
        }
    }
}

/// Names one UDP socket. The generation makes a stale handle miss a reused slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UdpHandle {
    index: u32,
    generation: u32,
}

impl UdpHandle {
    /// The slot index (dense, reused after close): usable as a table key by callers.
    pub fn index(self) -> usize {
        self.index as usize
    }
}

/// Why a UDP operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UdpError {
    /// Nothing to read, or the transmit queue is full.
    #[error("would block")]
    WouldBlock,
    /// Another socket is bound to this address and port.
    #[error("address in use")]
    AddrInUse,
    /// The handle names no open socket.
    #[error("no such socket")]
    BadHandle,
    /// The destination's family differs from the socket's, or port 0.
    #[error("bad destination address")]
    BadAddress,
    /// The datagram does not fit in one IP packet of the interface's MTU.
    #[error("datagram too large")]
    TooLarge,
    /// An earlier datagram drew an ICMP port unreachable (ECONNREFUSED, reported once).
    #[error("connection refused (ICMP port unreachable)")]
    PortUnreachable,
    /// An earlier datagram drew another ICMP destination-unreachable (reported once).
    #[error("destination unreachable (ICMP)")]
    Unreachable,
}

/// What changed on a UDP socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UdpEvent {
    /// A datagram (or a pending error) can be read.
    Readable,
    /// Room in the transmit queue again.
    Writable,
}

/// Table-wide counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UdpStats {
    /// Datagrams queued for a socket.
    pub received: u64,
    /// Datagrams for no socket (the interface answers port unreachable).
    pub no_socket: u64,
    /// Datagrams dropped because the socket's receive queue was full.
    pub queue_full: u64,
    /// Datagrams handed out by `poll_transmit`.
    pub sent: u64,
    /// ICMP errors delivered to a socket.
    pub icmp_errors: u64,
}

/// One datagram to put on the wire: `local` is the source, `remote` the destination; the
/// payload was written to the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpTransmit {
    /// Source address and port (an unspecified IP: the interface picks its address).
    pub local: SocketAddr,
    /// Destination.
    pub remote: SocketAddr,
    /// Payload bytes written.
    pub len: usize,
}

#[derive(Debug)]
struct Socket {
    local: SocketAddr,
    queue: VecDeque<(SocketAddr, Box<[u8]>)>,
    queued_bytes: usize,
    error: Option<UdpError>,
    /// A `Writable` event is owed once the transmit queue drains.
    blocked_send: bool,
}

#[derive(Debug)]
struct Slot {
    generation: u32,
    socket: Option<Socket>,
}

/// The UDP sockets of one interface.
#[derive(Debug)]
pub struct UdpTable {
    config: UdpConfig,
    slots: Vec<Slot>,
    free: Vec<u32>,
    bound: HashMap<SocketAddr, u32, TableBuildHasher>,
    tx: VecDeque<(u32, SocketAddr, SocketAddr, Box<[u8]>)>,
    events: VecDeque<(UdpHandle, UdpEvent)>,
    next_port: u16,
    stats: UdpStats,
}

fn wildcard(a: SocketAddr) -> SocketAddr {
    let ip = match a.ip() {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    SocketAddr::new(ip, a.port())
}

/// First ephemeral port (IANA, RFC 6335).
pub(crate) const EPHEMERAL_FIRST: u16 = 49152;

impl UdpTable {
    /// An empty table; `secret` keys its hash.
    pub fn new(config: UdpConfig, secret: [u8; 16]) -> Self {
        UdpTable {
            config,
            slots: Vec::new(),
            free: Vec::new(),
            bound: HashMap::with_hasher(TableBuildHasher::new(secret)),
            tx: VecDeque::new(),
            events: VecDeque::new(),
            next_port: EPHEMERAL_FIRST,
            stats: UdpStats::default(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> UdpStats {
        self.stats
    }

    /// Opens a socket on `local` (an unspecified IP receives on every address of its
    /// family; port 0 picks a free ephemeral port).
    pub fn bind(&mut self, mut local: SocketAddr) -> Result<UdpHandle, UdpError> {
        if local.port() == 0 {
            let port = self.free_port(local).ok_or(UdpError::AddrInUse)?;
            local.set_port(port);
        }
        if self.bound.contains_key(&local) {
            return Err(UdpError::AddrInUse);
        }
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    socket: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.generation = slot.generation.wrapping_add(1);
        slot.socket = Some(Socket {
            local,
            queue: VecDeque::new(),
            queued_bytes: 0,
            error: None,
            blocked_send: false,
        });
        self.bound.insert(local, index);
        Ok(UdpHandle {
            index,
            generation: slot.generation,
        })
    }

    fn free_port(&mut self, local: SocketAddr) -> Option<u16> {
        let span = u32::from(u16::MAX - EPHEMERAL_FIRST) + 1;
        for _ in 0..span {
            let p = self.next_port;
            self.next_port = if p == u16::MAX {
                EPHEMERAL_FIRST
            } else {
                p + 1
            };
            let mut a = local;
            a.set_port(p);
            if !self.bound.contains_key(&a) && !self.bound.contains_key(&wildcard(a)) {
                return Some(p);
            }
        }
        None
    }

    /// The address a socket is bound to.
    pub fn local_addr(&self, h: UdpHandle) -> Result<SocketAddr, UdpError> {
        self.socket(h).map(|s| s.local)
    }

    /// Closes a socket; queued datagrams are dropped, its address is free again.
    pub fn close(&mut self, h: UdpHandle) -> Result<(), UdpError> {
        let local = self.socket(h)?.local;
        self.bound.remove(&local);
        let slot = &mut self.slots[h.index as usize];
        slot.socket = None;
        self.free.push(h.index);
        Ok(())
    }

    fn socket(&self, h: UdpHandle) -> Result<&Socket, UdpError> {
        self.slots
            .get(h.index as usize)
            .filter(|s| s.generation == h.generation)
            .and_then(|s| s.socket.as_ref())
            .ok_or(UdpError::BadHandle)
    }

    fn socket_mut(&mut self, h: UdpHandle) -> Result<&mut Socket, UdpError> {
        self.slots
            .get_mut(h.index as usize)
            .filter(|s| s.generation == h.generation)
            .and_then(|s| s.socket.as_mut())
            .ok_or(UdpError::BadHandle)
    }

    /// Queues one datagram for `remote`. `max_payload` is the most the interface can send
    /// in one packet (its MTU less the IP and UDP headers).
    pub fn send_to(
        &mut self,
        h: UdpHandle,
        remote: SocketAddr,
        data: &[u8],
        max_payload: usize,
    ) -> Result<usize, UdpError> {
        let full = self.tx.len() >= self.config.send_queue;
        let s = self.socket_mut(h)?;
        if remote.is_ipv4() != s.local.is_ipv4() || remote.port() == 0 {
            return Err(UdpError::BadAddress);
        }
        if data.len() > max_payload {
            return Err(UdpError::TooLarge);
        }
        if full {
            s.blocked_send = true;
            return Err(UdpError::WouldBlock);
        }
        let local = s.local;
        self.tx.push_back((h.index, local, remote, data.into()));
        Ok(data.len())
    }

    /// Takes the oldest datagram: `(bytes copied, sender)`; the rest of a datagram longer
    /// than `buf` is discarded (as `recv_from` on a kernel socket). A pending ICMP error is
    /// reported first, once.
    pub fn recv_from(
        &mut self,
        h: UdpHandle,
        buf: &mut [u8],
    ) -> Result<(usize, SocketAddr), UdpError> {
        let s = self.socket_mut(h)?;
        if let Some(e) = s.error.take() {
            return Err(e);
        }
        let (from, data) = s.queue.pop_front().ok_or(UdpError::WouldBlock)?;
        s.queued_bytes -= data.len();
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        Ok((n, from))
    }

    /// True when a datagram or an error waits on the socket.
    pub fn is_readable(&self, h: UdpHandle) -> bool {
        self.socket(h)
            .is_ok_and(|s| s.error.is_some() || !s.queue.is_empty())
    }

    /// The socket bound to `local` (exact match first, then the wildcard address).
    pub fn lookup(&self, local: SocketAddr) -> Option<UdpHandle> {
        let index = *self
            .bound
            .get(&local)
            .or_else(|| self.bound.get(&wildcard(local)))?;
        let generation = self.slots[index as usize].generation;
        Some(UdpHandle { index, generation })
    }

    /// A datagram from `remote` to `local` arrived. Returns false when no socket is bound
    /// there (the caller answers ICMP port unreachable).
    pub fn handle_datagram(&mut self, local: SocketAddr, remote: SocketAddr, data: &[u8]) -> bool {
        let Some(h) = self.lookup(local) else {
            self.stats.no_socket += 1;
            return false;
        };
        let (max_n, max_b) = (self.config.recv_queue, self.config.recv_bytes);
        let Ok(s) = self.socket_mut(h) else {
            return false;
        };
        if s.queue.len() >= max_n || s.queued_bytes + data.len() > max_b {
            self.stats.queue_full += 1;
            return true;
        }
        let was_empty = s.queue.is_empty() && s.error.is_none();
        s.queued_bytes += data.len();
        s.queue.push_back((remote, data.into()));
        self.stats.received += 1;
        if was_empty {
            self.events.push_back((h, UdpEvent::Readable));
        }
        true
    }

    /// An ICMP error quoting a datagram we sent from `local` to `remote`. The socket's next
    /// `recv_from` returns it (RFC 1122 §4.1.3.3: reported to the application).
    pub fn handle_icmp_error(&mut self, local: SocketAddr, remote: SocketAddr, error: UdpError) {
        let _ = remote;
        let Some(h) = self.lookup(local) else {
            return;
        };
        if let Ok(s) = self.socket_mut(h) {
            let was_empty = s.queue.is_empty() && s.error.is_none();
            s.error = Some(error);
            self.stats.icmp_errors += 1;
            if was_empty {
                self.events.push_back((h, UdpEvent::Readable));
            }
        }
    }

    /// The next datagram to send; its payload is copied to `buf` (which must hold it).
    /// Datagrams of sockets closed meanwhile are skipped.
    pub fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<UdpTransmit> {
        while let Some((index, local, remote, data)) = self.tx.pop_front() {
            let slot = &mut self.slots[index as usize];
            let Some(s) = slot.socket.as_mut() else {
                continue;
            };
            if s.blocked_send {
                s.blocked_send = false;
                let h = UdpHandle {
                    index,
                    generation: slot.generation,
                };
                self.events.push_back((h, UdpEvent::Writable));
            }
            let n = data.len().min(buf.len());
            buf[..n].copy_from_slice(&data[..n]);
            self.stats.sent += 1;
            return Some(UdpTransmit {
                local,
                remote,
                len: n,
            });
        }
        None
    }

    /// True when datagrams wait in the transmit queue.
    pub fn has_transmit(&self) -> bool {
        !self.tx.is_empty()
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<(UdpHandle, UdpEvent)> {
        self.events.pop_front()
    }
}
