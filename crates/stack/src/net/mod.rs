//! Blocking sockets shaped like `std::net` ([`TcpListener`], [`TcpStream`], [`UdpSocket`])
//! over a [`Stack`] that a thread drives on a link ([`Phy`]).
//!
//! This module is the one place in the crate that reads a clock and starts a thread: the
//! sans-IO core below stays free of both. [`Net::spawn`] starts the driver thread (and, for
//! a link with a [`Phy::kicker`], the kick thread), which reads frames from the [`Phy`],
//! runs timers, sends what the stack has to send and wakes blocked callers (and tokio
//! tasks, with the `tokio` feature: [`tokio`]). A socket call takes the stack's lock, tries
//! the non-blocking operation, sends what it produced, and when it would block waits on a
//! condition variable until the driver reports progress.
//!
//! The driver polls the link: while frames arrive it loops without sleeping; when the link
//! is idle it sleeps until the next timer or [`NetConfig::idle_sleep`], whichever comes
//! first.
//!
//! A link with a transmit ring ([`Phy::send_in_place`], [`Phy::kicker`]: AF_PACKET) has
//! frames built straight into its ring slots under the lock, and the system call that makes
//! the kernel send them is made by a thread of its own, the kick thread, outside the lock:
//! a flush (a socket call's, or the driver's round) wakes it, it kicks while the driver and
//! the callers build the next frames, and after a kick that sent something it wakes the
//! driver (ring room is free, and on veth the peer's replies are already in the rx ring).
//! On veth the kick runs the peer's whole receive path, most of the sender's time, so the
//! stack's work and the kernel's now overlap on two cores instead of taking turns on one.
//! tcp-veth, uplane only, six alternating pairs of three runs: 4.60-5.86 -> 4.96-7.29
//! Gbit/s; the bench's ratio to the kernel sender 0.77-0.88 (seven runs) -> 0.82-1.01 (six)
//! on the same day. Before, the driver kicked between its rounds (two copies per frame
//! fewer than with a staging buffer: uplane 4.88-5.02 -> 5.16-5.35 Gbit/s then).
//!
//! Where tcp-veth's sender time went while the driver kicked (perf cpu-clock, uplane only):
//! ~84% in the kernel, nearly all of it the driver's kick (per frame: skb allocation and
//! copy out of the ring, veth, and the receiver's whole TCP input in the same softirq); the
//! stack's user time is ~16% (the payload copy with its checksum, the copy into the send
//! buffer, frame building). The writer thread waits most of the time; the driver is the
//! bottleneck (~70% kicking, ~20% receiving ACKs and building frames, ~10% parked waiting
//! for ACKs, which the rx ring hands over when a block retires: the 1 ms timeout, since the
//! Linux receiver ACKs only every ~35 segments here). Measured and not kept (noisy machine,
//! one core taken by another job): letting the socket caller woken by an ACK build the
//! frames so the driver only kicks (driver built 105k instead of 265k of 290k frames per
//! 400 MiB; no change in Gbit/s, since on one free core the total CPU is what counts); a 30
//! µs idle sleep instead of 200 µs (no change beyond noise); 4 or 16 KiB rx blocks (no gain
//! seen: at ~10k ACKs/s even a 4 KiB block, ~28 ACKs, fills slower than the timeout); tx
//! frames not 4 KiB apart, so that their headers do not share cache sets (1600 B in 64 KiB
//! blocks: the hot spot in the kernel's `packet_sendmsg` 560 -> 381 samples; 4160 B in 128
//! KiB blocks: `packet_lookup_frame` 119 -> 16 samples but that hot spot unchanged; CPU
//! time and Gbit/s within noise either way).

#[cfg(feature = "tokio")]
pub mod tokio;

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::Waker;
use std::thread::{JoinHandle, Thread};
use std::time::Duration;

use crate::socket::{Interest, SocketError, SocketEvent, SocketHandle, Stack, Token};
use crate::Instant;

/// A link that carries whole Ethernet frames: a TAP, an AF_PACKET socket, a channel.
pub trait Phy: Send + 'static {
    /// One received frame into `buf`, without blocking; `None` when nothing is waiting.
    fn recv(&mut self, buf: &mut [u8]) -> Option<usize>;
    /// Sends one frame, or queues it until [`flush`](Self::flush) (dropping it is allowed
    /// when the link is full: TCP recovers).
    fn send(&mut self, frame: &[u8]);
    /// Hands the frames `send` queued to the link: called after each round of output, so
    /// a driver can send a round's frames with one system call. Nothing by default.
    fn flush(&mut self) {}
    /// Builds one frame in place in the link's transmit ring: `build` gets the free slot
    /// (at least `min_room` bytes; otherwise the link answers `Unsupported`) and returns
    /// the frame's length, or `None` when there is nothing to send. Frames built this way
    /// go out like those of `send` (with [`flush`](Self::flush) or the [`kicker`](Self::kicker)).
    /// By default `Unsupported`: the caller builds into a buffer of its own and calls `send`.
    fn send_in_place(
        &mut self,
        min_room: usize,
        build: &mut dyn FnMut(&mut [u8]) -> Option<usize>,
    ) -> InPlace {
        let _ = (min_room, build);
        InPlace::Unsupported
    }
    /// Takes the link's transmit kick out of [`flush`](Self::flush): from then on `flush`
    /// and `send_in_place` only queue, and the returned function (called from any thread,
    /// without this `Phy`) hands what is queued to the link, returning true if there was
    /// something. [`Net`] calls it once, and its kick thread then kicks outside the
    /// stack's lock. `None` (default): `flush` sends.
    fn kicker(&mut self) -> Option<Kicker> {
        None
    }
}

/// Hands a [`Phy`]'s queued frames to the link from any thread ([`Phy::kicker`]); true if
/// there were some.
pub type Kicker = Box<dyn Fn() -> bool + Send + Sync>;

/// What [`Phy::send_in_place`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InPlace {
    /// A frame was built and queued.
    Sent,
    /// The builder had nothing to send.
    Nothing,
    /// No free slot until the link sends what it holds; the builder was not called.
    Full,
    /// No ring to build in (or too small a slot): build elsewhere and `send`.
    Unsupported,
}

/// Settings of the driver thread.
#[derive(Debug, Clone, Copy)]
pub struct NetConfig {
    /// Longest sleep when the link is idle (default 200 µs): the receive latency bound.
    pub idle_sleep: Duration,
    /// Frames read per round before timers and output run (default 64).
    pub rx_batch: usize,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            idle_sleep: Duration::from_micros(200),
            rx_batch: 64,
        }
    }
}

pub(crate) struct Inner {
    pub(crate) stack: Stack,
    phy: Box<dyn Phy>,
    tx: Vec<u8>,
    /// The link refused to build in place once: `tx` and `send` from then on.
    no_in_place: bool,
    events: Vec<SocketEvent>,
    /// Per socket index: (read waker, write waker) of a tokio task.
    pub(crate) wakers: HashMap<usize, (Option<Waker>, Option<Waker>)>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner").field("stack", &self.stack).finish()
    }
}

impl Inner {
    /// Sends everything the stack has to send (with a kicker: queues it, up to the ring's
    /// room, for the kick thread). True if frames were queued or the ring is full: there
    /// is something for a kick.
    pub(crate) fn flush(&mut self, now: Instant) -> bool {
        let mut full = false;
        let mut queued = false;
        while !self.no_in_place {
            let (stack, min_room) = (&mut self.stack, self.tx.len());
            match self
                .phy
                .send_in_place(min_room, &mut |b| stack.poll_transmit(now, b))
            {
                InPlace::Sent => {
                    full = false;
                    queued = true;
                }
                InPlace::Nothing => break,
                // A link that kicks in `flush` may make room; one with a kicker waits.
                InPlace::Full if !full => {
                    full = true;
                    self.phy.flush();
                }
                InPlace::Full => return true,
                InPlace::Unsupported => self.no_in_place = true,
            }
        }
        if !self.no_in_place {
            self.phy.flush();
            return queued;
        }
        while let Some(n) = self.stack.poll_transmit(now, &mut self.tx) {
            self.phy.send(&self.tx[..n]);
            queued = true;
        }
        self.phy.flush();
        queued
    }

    /// Takes readiness events and wakes the tasks waiting on them; true if any.
    fn dispatch(&mut self) -> bool {
        self.events.clear();
        self.stack.poll_events(&mut self.events, usize::MAX);
        for ev in &self.events {
            if let Some((r, w)) = self.wakers.get_mut(&ev.token.0) {
                if ev.is_readable() || ev.is_closed() {
                    if let Some(r) = r.take() {
                        r.wake();
                    }
                }
                if ev.is_writable() || ev.is_closed() {
                    if let Some(w) = w.take() {
                        w.wake();
                    }
                }
            }
        }
        !self.events.is_empty()
    }
}

pub(crate) struct Shared {
    inner: Mutex<Inner>,
    cond: Condvar,
    stop: AtomicBool,
    epoch: std::time::Instant,
    /// The link's kick, made by the kick thread outside the lock ([`Phy::kicker`]).
    kicker: Option<Kicker>,
    /// The driver thread, woken when the kick thread has sent (ring room, replies).
    driver: OnceLock<Thread>,
    /// The kick thread (with a kicker), woken when frames were queued.
    kick: OnceLock<Thread>,
    /// Stops the kick thread: set after the driver has stopped, so that its last round's
    /// frames still get the kick thread's final kick.
    kick_stop: AtomicBool,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("inner", &self.inner)
            .field("kicker", &self.kicker.is_some())
            .finish()
    }
}

impl Shared {
    /// After a flush (a socket call's or the driver's round): wakes the kick thread to hand
    /// what was queued to the link (a wake of a running thread costs one atomic swap).
    pub(crate) fn wake_kick(&self) {
        match self.kick.get() {
            Some(t) => t.unpark(),
            // No kick thread could be started: the driver kicks.
            None if self.kicker.is_some() => {
                if let Some(t) = self.driver.get() {
                    t.unpark();
                }
            }
            None => {}
        }
    }

    pub(crate) fn now(&self) -> Instant {
        self.epoch.elapsed().as_nanos() as Instant
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `op` until it does not return `WouldBlock` (or `timeout` passes), sending
    /// what each try produced.
    fn blocking<T>(
        &self,
        timeout: Option<Duration>,
        mut op: impl FnMut(&mut Stack, Instant) -> Result<T, SocketError>,
    ) -> io::Result<T> {
        let start = std::time::Instant::now();
        let mut g = self.lock();
        loop {
            let now = self.now();
            let r = op(&mut g.stack, now);
            g.flush(now);
            match r {
                Err(SocketError::WouldBlock) => self.wake_kick(),
                r => {
                    drop(g);
                    self.wake_kick();
                    return r.map_err(io::Error::from);
                }
            }
            let mut wait = Duration::from_millis(20);
            if let Some(t) = timeout {
                let spent = start.elapsed();
                if spent >= t {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"));
                }
                wait = wait.min(t - spent);
            }
            g = self
                .cond
                .wait_timeout(g, wait)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }
}

/// A stack running on a link, driven by its own thread. Dropping it stops the thread;
/// sockets still open then fail with `WouldBlock` turned into time-outs.
#[derive(Debug)]
pub struct Net {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    kick_thread: Option<JoinHandle<()>>,
}

impl Net {
    /// Starts the driver thread for `stack` on `phy` (and the kick thread, if `phy` has a
    /// [`Phy::kicker`]).
    pub fn spawn(stack: Stack, mut phy: impl Phy, config: NetConfig) -> Net {
        let tx = vec![0u8; stack.iface().max_frame_len()];
        let kicker = phy.kicker();
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                stack,
                phy: Box::new(phy),
                tx,
                no_in_place: false,
                events: Vec::new(),
                wakers: HashMap::new(),
            }),
            cond: Condvar::new(),
            stop: AtomicBool::new(false),
            epoch: std::time::Instant::now(),
            kicker,
            driver: OnceLock::new(),
            kick: OnceLock::new(),
            kick_stop: AtomicBool::new(false),
        });
        // The kick thread first: a driver that finds none (not spawned) kicks itself.
        let kick_thread = if shared.kicker.is_some() {
            let s = shared.clone();
            std::thread::Builder::new()
                .name("uplane-kick".into())
                .spawn(move || kick_loop(&s))
                .ok()
        } else {
            None
        };
        if let Some(t) = &kick_thread {
            let _ = shared.kick.set(t.thread().clone());
        }
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("uplane-net".into())
            .spawn(move || drive(&s, config))
            .ok();
        if let Some(t) = &thread {
            let _ = shared.driver.set(t.thread().clone());
        }
        Net {
            shared,
            thread,
            kick_thread,
        }
    }

    /// Runs `f` on the stack under its lock (counters, configuration, raw socket calls).
    pub fn with_stack<T>(&self, f: impl FnOnce(&mut Stack) -> T) -> T {
        let mut g = self.shared.lock();
        let r = f(&mut g.stack);
        let now = self.shared.now();
        g.flush(now);
        drop(g);
        self.shared.wake_kick();
        r
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
        self.shared.kick_stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.kick_thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// The kick thread's loop: hands queued frames to the link while the driver builds the
/// next ones; after a kick that sent some (ring room freed, and on a veth the peer's
/// replies already received), wakes the driver.
fn kick_loop(shared: &Shared) {
    let Some(kick) = shared.kicker.as_ref() else {
        return;
    };
    while !shared.kick_stop.load(Ordering::Relaxed) {
        if kick() {
            if let Some(t) = shared.driver.get() {
                t.unpark();
            }
        } else {
            // Every flush that queues frames unparks this thread (and an unpark before
            // the park is kept), so the time-out is only a safety net.
            std::thread::park_timeout(Duration::from_millis(10));
        }
    }
    kick();
}

fn drive(shared: &Shared, config: NetConfig) {
    let mut rx = vec![0u8; 65536];
    // Without a kick thread (none could be started) the driver kicks after its rounds.
    let kick_here = || shared.kick.get().is_none() && shared.kicker.as_ref().is_some_and(|k| k());
    while !shared.stop.load(Ordering::Relaxed) {
        let mut g = shared.lock();
        let now = shared.now();
        let mut got = 0;
        while got < config.rx_batch {
            let Some(n) = g.phy.recv(&mut rx) else {
                break;
            };
            g.stack.handle_frame(now, &rx[..n.min(rx.len())]);
            got += 1;
        }
        if g.stack.poll_timeout().is_some_and(|t| t <= now) {
            g.stack.handle_timeout(now);
        }
        let queued = g.flush(now);
        let woke = g.dispatch();
        let next = g.stack.poll_timeout();
        drop(g);
        if woke || got > 0 {
            shared.cond.notify_all();
        }
        // This round's output goes to the kick thread; a kick made here that sent
        // something freed ring room the stack may be waiting for: the next round at once.
        if queued {
            shared.wake_kick();
        }
        let kicked = kick_here();
        if got == 0 && !kicked {
            let until_timer = next.map_or(config.idle_sleep, |t| {
                Duration::from_nanos(t.saturating_sub(shared.now()))
            });
            let d = until_timer.min(config.idle_sleep);
            if !d.is_zero() {
                // Socket calls that queue frames, and the kick thread after a send, unpark us.
                std::thread::park_timeout(d);
            }
        }
    }
    kick_here();
}

/// Registers a new socket for both readinesses under its own index (so the driver can
/// wake whoever waits on it).
fn register(stack: &mut Stack, h: SocketHandle) -> Result<SocketHandle, SocketError> {
    stack.register(h, Token(h.index()), Interest::READABLE | Interest::WRITABLE)?;
    Ok(h)
}

/// A listening TCP socket (`std::net::TcpListener`'s shape).
#[derive(Debug)]
pub struct TcpListener {
    shared: Arc<Shared>,
    handle: SocketHandle,
}

impl TcpListener {
    /// Listens on `addr` (an unspecified IP: every address of the family), backlog 128.
    pub fn bind(net: &Net, addr: SocketAddr) -> io::Result<TcpListener> {
        let shared = net.shared.clone();
        let handle = {
            let mut g = shared.lock();
            g.stack
                .tcp_listen(addr, 128)
                .and_then(|h| register(&mut g.stack, h))?
        };
        Ok(TcpListener { shared, handle })
    }

    /// Waits for a connection.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (h, peer) = self.shared.blocking(None, |s, _| {
            let (h, peer) = s.tcp_accept(self.handle)?;
            register(s, h).map(|h| (h, peer))
        })?;
        Ok((TcpStream::new(self.shared.clone(), h), peer))
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.shared.lock().stack.local_addr(self.handle)?)
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        let now = self.shared.now();
        let mut g = self.shared.lock();
        let _ = g.stack.close(now, self.handle);
        g.flush(now);
        drop(g);
        self.shared.wake_kick();
    }
}

/// A TCP connection (`std::net::TcpStream`'s shape). Dropping it closes it gracefully
/// (FIN after the queued bytes, finished by the driver thread).
#[derive(Debug)]
pub struct TcpStream {
    shared: Arc<Shared>,
    handle: SocketHandle,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
}

impl TcpStream {
    fn new(shared: Arc<Shared>, handle: SocketHandle) -> Self {
        TcpStream {
            shared,
            handle,
            read_timeout: None,
            write_timeout: None,
        }
    }

    /// Connects to `addr` and waits until established (or refused / timed out).
    pub fn connect(net: &Net, addr: SocketAddr) -> io::Result<TcpStream> {
        let shared = net.shared.clone();
        let handle = {
            let now = shared.now();
            let mut g = shared.lock();
            let h = g
                .stack
                .tcp_connect(now, addr)
                .and_then(|h| register(&mut g.stack, h))?;
            g.flush(now);
            h
        };
        shared.wake_kick();
        shared.blocking(None, |s, _| match s.tcp_is_connected(handle)? {
            true => Ok(()),
            false => Err(SocketError::WouldBlock),
        })?;
        Ok(TcpStream::new(shared, handle))
    }

    /// Bounds how long `read` waits (`None`: forever).
    pub fn set_read_timeout(&mut self, t: Option<Duration>) {
        self.read_timeout = t;
    }

    /// Bounds how long `write` waits (`None`: forever).
    pub fn set_write_timeout(&mut self, t: Option<Duration>) {
        self.write_timeout = t;
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.shared.lock().stack.peer_addr(self.handle)?)
    }

    /// Our address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.shared.lock().stack.local_addr(self.handle)?)
    }

    /// `Shutdown::Write` sends FIN after the queued bytes; `Read` is accepted and does
    /// nothing (bytes keep arriving until the peer closes); `Both` does the write half.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            let now = self.shared.now();
            let mut g = self.shared.lock();
            g.stack.tcp_shutdown_write(now, self.handle)?;
            g.flush(now);
            drop(g);
            self.shared.wake_kick();
        }
        Ok(())
    }

    /// Waits until every queued byte is acknowledged by the peer.
    pub fn wait_sent(&self) -> io::Result<()> {
        self.shared.blocking(self.write_timeout, |s, _| {
            match s.tcp_send_queue(self.handle)? {
                0 => Ok(()),
                _ => Err(SocketError::WouldBlock),
            }
        })
    }

    /// A tokio-compatible stream over the same connection (feature `tokio`).
    #[cfg(feature = "tokio")]
    pub fn into_async(self) -> tokio::AsyncTcpStream {
        tokio::AsyncTcpStream::new(self)
    }

    #[cfg(feature = "tokio")]
    pub(crate) fn parts(&self) -> (&Arc<Shared>, SocketHandle) {
        (&self.shared, self.handle)
    }
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let h = self.handle;
        self.shared
            .blocking(self.read_timeout, |s, _| s.tcp_recv(h, buf))
    }
}

impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let h = self.handle;
        self.shared
            .blocking(self.write_timeout, |s, _| s.tcp_send(h, buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        let now = self.shared.now();
        let mut g = self.shared.lock();
        g.wakers.remove(&self.handle.index());
        let _ = g.stack.close(now, self.handle);
        g.flush(now);
        drop(g);
        self.shared.wake_kick();
    }
}

/// A UDP socket (`std::net::UdpSocket`'s shape).
#[derive(Debug)]
pub struct UdpSocket {
    shared: Arc<Shared>,
    handle: SocketHandle,
    read_timeout: Option<Duration>,
}

impl UdpSocket {
    /// Binds `addr` (port 0: an ephemeral port).
    pub fn bind(net: &Net, addr: SocketAddr) -> io::Result<UdpSocket> {
        let shared = net.shared.clone();
        let handle = {
            let mut g = shared.lock();
            g.stack
                .udp_bind(addr)
                .and_then(|h| register(&mut g.stack, h))?
        };
        Ok(UdpSocket {
            shared,
            handle,
            read_timeout: None,
        })
    }

    /// Bounds how long `recv_from` waits.
    pub fn set_read_timeout(&mut self, t: Option<Duration>) {
        self.read_timeout = t;
    }

    /// Sends one datagram (waits while the transmit queue is full).
    pub fn send_to(&self, buf: &[u8], addr: SocketAddr) -> io::Result<usize> {
        self.shared
            .blocking(None, |s, _| s.udp_send_to(self.handle, buf, addr))
    }

    /// Waits for one datagram.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.shared
            .blocking(self.read_timeout, |s, _| s.udp_recv_from(self.handle, buf))
    }

    /// Our address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.shared.lock().stack.local_addr(self.handle)?)
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        let now = self.shared.now();
        let _ = self.shared.lock().stack.close(now, self.handle);
    }
}

/// One end of an in-memory link (a pair from [`channel_pair`]): frames cross as owned
/// byte vectors through a bounded channel (frames beyond its bound are dropped, as a full
/// link would).
#[derive(Debug)]
pub struct ChannelPhy {
    tx: mpsc::SyncSender<Vec<u8>>,
    rx: mpsc::Receiver<Vec<u8>>,
}

/// Two connected [`ChannelPhy`]s holding up to `depth` frames each way.
pub fn channel_pair(depth: usize) -> (ChannelPhy, ChannelPhy) {
    let (a_tx, b_rx) = mpsc::sync_channel(depth);
    let (b_tx, a_rx) = mpsc::sync_channel(depth);
    (
        ChannelPhy { tx: a_tx, rx: a_rx },
        ChannelPhy { tx: b_tx, rx: b_rx },
    )
}

impl Phy for ChannelPhy {
    fn recv(&mut self, buf: &mut [u8]) -> Option<usize> {
        let f = self.rx.try_recv().ok()?;
        let n = f.len().min(buf.len());
        buf[..n].copy_from_slice(&f[..n]);
        Some(n)
    }

    fn send(&mut self, frame: &[u8]) {
        let _ = self.tx.try_send(frame.to_vec());
    }
}
