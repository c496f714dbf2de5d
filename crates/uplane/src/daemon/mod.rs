//! The daemon: builds the graph and the router from a [`Config`], forwards, and answers the
//! CLI and metrics between dispatches.
//!
//! With `workers = 0` (the default on small machines) the main thread does everything: it
//! dispatches the graph, then polls the CLI socket and the metrics listener without
//! blocking, then dispatches again. With `workers = N` each of N worker threads dispatches
//! its own graph over the rx queues placed on it ([`workers`]) and the main thread only
//! answers the CLI and metrics. Either way vnet's state is read by the data path without a
//! lock, so the CLI changes routes while packets flow; changes to a graph itself (a device
//! attached, a trace) are applied by its thread between two dispatches.

pub mod cli;
mod delete;
pub mod metrics;
mod pcap;
pub mod services;
pub mod stack_node;
mod workers;

use crate::config::{Config, Driver, IpCidr, RouteTarget};
use anyhow::{anyhow, bail, Context, Result};
use buf::{BufferCache, BufferPool, PoolConfig};
use graph::{Graph, GraphBuilder};
use io::device::{self, DeviceInput, DeviceOutput, DeviceStats, SharedDevice};
use io::null::NullOutput;
use io::pg::PgInput;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use vnet::{IfIndex, Vnet};
use wire::ethernet::EthernetAddress;
use workers::Graphs;

/// Lines kept for `show log`.
const LOG_LINES: usize = 512;

/// A hardware interface and the device behind it.
#[derive(Debug)]
pub struct Port {
    /// The vnet interface.
    pub if_index: IfIndex,
    /// Its name.
    pub name: String,
    /// Its driver.
    pub driver: Driver,
    /// The device (none for `pg`).
    pub dev: Option<SharedDevice>,
    /// The device's counters.
    pub stats: Option<Arc<DeviceStats>>,
    /// What `show hardware-interfaces` prints.
    pub hw: String,
    /// The XDP program in front of an AF_XDP device.
    pub xdp: Option<Arc<std::sync::Mutex<xdp::XdpProgram>>>,
    /// The device's input node (`af-xdp-input`, ...).
    pub in_node: &'static str,
    /// The device's output node (`af-xdp-output`, `null-output`, ...).
    pub out_node: &'static str,
    /// Where its rx queues are polled: (graph / worker, queue).
    pub rx_placement: Vec<(usize, usize)>,
}

/// A running uplane.
#[derive(Debug)]
pub struct Daemon {
    /// The configuration it started from.
    pub config: Config,
    pub(crate) pool: Arc<BufferPool>,
    pub(crate) vnet: Vnet,
    /// One graph per worker (one, dispatched by the main thread, with 0 workers).
    pub(crate) graphs: Graphs,
    /// The worker the next rx queue goes to (round robin).
    next_worker: usize,
    pub(crate) ports: Vec<Port>,
    /// Every port's device counters, shared with the status page.
    pub(crate) devices: cli::DeviceCounters,
    pub(crate) start: Instant,
    pub(crate) log: VecDeque<String>,
    tap_count: u32,
    /// Where `/metrics` is served (for `show version`).
    pub(crate) metrics_addr: Option<std::net::SocketAddr>,
    /// `pcap trace`: shared by every device input/output node and `error-drop`.
    pub(crate) capture: io::capture::Capture,
}

fn lock(d: &SharedDevice) -> std::sync::MutexGuard<'_, dyn device::Device + 'static> {
    d.lock().unwrap_or_else(|e| e.into_inner())
}

impl Daemon {
    /// Builds everything the config describes. Nothing is left half-built on error: the
    /// caller drops the daemon, which closes devices and frees buffers.
    pub fn new(config: Config) -> Result<Daemon> {
        let pool = BufferPool::new(&PoolConfig::new(config.buffers)).context("buffers.count")?;
        let vnet = Vnet::new();
        let graphs = (0..config.workers.max(1))
            .map(|_| build_graph(&vnet, &pool))
            .collect::<Result<Vec<_>>>()?;
        let mut d = Daemon {
            config: config.clone(),
            pool,
            vnet,
            graphs: Graphs::Local(graphs),
            next_worker: 0,
            ports: Vec::new(),
            devices: Default::default(),
            start: Instant::now(),
            log: VecDeque::new(),
            tap_count: 0,
            metrics_addr: None,
            capture: io::capture::Capture::new(),
        };
        d.install_capture()?;
        for (i, ic) in config.interfaces.iter().enumerate() {
            let at = |what: &str| {
                format!(
                    "{}: interface[{i}] {:?}: {what}",
                    config.file.display(),
                    ic.name
                )
            };
            let idx = d
                .add_interface(
                    &ic.name,
                    ic.driver,
                    ic.host_if.as_deref(),
                    ic.mac,
                    ic.xdp_rings,
                )
                .with_context(|| at("creating it"))?;
            {
                let mut ifs = d.vnet.interfaces_mut();
                ifs.set_mtu(idx, u32::from(ic.mtu))
                    .map_err(|e| anyhow!(at(&e.to_string())))?;
            }
            for a in &ic.addresses {
                d.set_address(idx, *a, false)
                    .with_context(|| at(&format!("address {a}")))?;
            }
            d.set_state(idx, true)
                .with_context(|| at("setting it up"))?;
        }
        if let Some(name) = &config.punt {
            d.set_punt(name)
                .with_context(|| format!("{}: punt.interface {name:?}", config.file.display()))?;
        }
        d.start_services()?;
        d.pcap_promiscuous();
        d.add_config_neighbors()?;
        for (i, r) in config.routes.iter().enumerate() {
            d.add_route(r.prefix, &r.target)
                .with_context(|| format!("{}: route[{i}] {}", config.file.display(), r.prefix))?;
        }
        d.logf(format!(
            "uplane {} started: {} interfaces, {} routes",
            env!("CARGO_PKG_VERSION"),
            d.ports.len(),
            config.routes.len()
        ));
        Ok(d)
    }

    /// `[[service]]`: gives every graph a TCP/IP stack behind `ip4-local`/`ip6-local`
    /// with the services listening on it ([`stack_node`], [`services`]).
    fn start_services(&mut self) -> Result<()> {
        if self.config.services.is_empty() {
            return Ok(());
        }
        let file = self.config.file.display().to_string();
        // The stack's packets fit every interface and one buffer.
        let mtu = self
            .config
            .interfaces
            .iter()
            .map(|i| i.mtu)
            .min()
            .unwrap_or(1500)
            .min(buf::DATA_SIZE as u16);
        let status = services::StatusSource {
            start: self.start,
            vnet: self.vnet.clone(),
            devices: self.devices.clone(),
            graphs: self.graphs.stats(),
        };
        for w in 0..self.graphs.len() {
            let mut secret = [0u8; 16];
            sys_random(&mut secret);
            let mut host = stack::ip::IpHost::new(stack::ip::IpHostConfig {
                mtu,
                endpoint: stack::EndpointConfig {
                    secret,
                    ..Default::default()
                },
                ..Default::default()
            });
            let services =
                services::Services::new(&mut host, &self.config.services, Some(status.clone()))
                    .map_err(|e| anyhow!("{file}: {e}"))?;
            let shared = Arc::new(std::sync::Mutex::new(stack_node::HostState {
                host,
                services,
            }));
            self.graphs
                .on(w, move |g| stack_node::configure(g, shared))?
                .context("attaching the stack to the graph")?;
        }
        for s in self.config.services.clone() {
            self.logf(format!("service {} listening on {}", s.kind, s.listen));
        }
        Ok(())
    }

    /// Appends a line to `show log`.
    pub fn logf(&mut self, line: String) {
        let t = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        if self.log.len() == LOG_LINES {
            self.log.pop_front();
        }
        self.log.push_back(format!("{t} {line}"));
    }

    /// Creates an interface with its device (an AF_XDP one with `xdp_rings`, or the default
    /// rings) and connects it to the graph.
    pub fn add_interface(
        &mut self,
        name: &str,
        driver: Driver,
        host_if: Option<&str>,
        mac: Option<EthernetAddress>,
        xdp_rings: Option<sys::xsk::XskConfig>,
    ) -> Result<IfIndex> {
        if self.vnet.interfaces().by_name(name).is_some() {
            bail!("interface {name:?} already exists");
        }
        let mut xdp_prog = None;
        let (dev, in_node, out_node): (Option<SharedDevice>, &str, &str) = match driver {
            Driver::AfXdp => {
                let host = host_if.ok_or_else(|| anyhow!("host-if is required"))?;
                let mut cfg = io::af_xdp::AfXdpConfig::new(host);
                // The config's or the CLI's rings; the defaults when neither gave sizes.
                if let Some(rings) = xdp_rings {
                    cfg.ring = rings;
                }
                // One socket per kernel rx queue, as many as there are workers.
                cfg.queues = self.workers().min(host_rx_queues(host)).max(1);
                match io::af_xdp::AfXdp::open(&cfg, &self.pool) {
                    Ok(d) => {
                        xdp_prog = Some(d.program().clone());
                        (
                            Some(device::shared(d)),
                            io::af_xdp::AF_XDP_INPUT,
                            io::af_xdp::AF_XDP_OUTPUT,
                        )
                    }
                    Err(e) => {
                        // A kernel or driver without AF_XDP: serve the interface through
                        // AF_PACKET rings and say so.
                        self.logf(format!(
                            "{name}: AF_XDP on {host} failed ({e}); using AF_PACKET"
                        ));
                        eprintln!("uplane: {name}: AF_XDP on {host} failed ({e}); using AF_PACKET");
                        let d = io::af_packet::AfPacket::open(&self.af_packet_config(host))
                            .with_context(|| format!("opening AF_PACKET on {host}"))?;
                        (
                            Some(device::shared(d)),
                            io::af_packet::AF_PACKET_INPUT,
                            io::af_packet::AF_PACKET_OUTPUT,
                        )
                    }
                }
            }
            Driver::AfPacket => {
                let host = host_if.ok_or_else(|| anyhow!("host-if is required"))?;
                let d = io::af_packet::AfPacket::open(&self.af_packet_config(host))
                    .with_context(|| format!("opening AF_PACKET on {host}"))?;
                (
                    Some(device::shared(d)),
                    io::af_packet::AF_PACKET_INPUT,
                    io::af_packet::AF_PACKET_OUTPUT,
                )
            }
            Driver::Tap => {
                let tap_name = match host_if {
                    Some(h) => h.to_string(),
                    None => {
                        self.tap_count += 1;
                        format!("tap{}", self.tap_count - 1)
                    }
                };
                let t = io::tap::Tap::create(&tap_name)
                    .with_context(|| format!("creating TAP {tap_name}"))?;
                (
                    Some(device::shared(t)),
                    io::tap::TAP_INPUT,
                    io::tap::TAP_OUTPUT,
                )
            }
            Driver::Pg => (None, io::pg::PG_INPUT, io::null::NULL_OUTPUT),
            Driver::Pcap => (
                Some(self.open_pcap(name)?),
                io::pcap::PCAP_INPUT,
                io::pcap::PCAP_OUTPUT,
            ),
        };
        let mac = match (&dev, mac) {
            (_, Some(m)) => m,
            (Some(d), None) if driver == Driver::Tap => {
                // The TAP's MAC is the host kernel's end; uplane's end needs another one
                // (locally administered, unicast) or the two would answer for each other.
                let mut m = lock(d).mac();
                m[0] = (m[0] | 0x02) & !0x01;
                m[5] ^= 0x01;
                EthernetAddress(m)
            }
            (Some(d), None) => EthernetAddress(lock(d).mac()),
            (None, None) => EthernetAddress([0x02, 0xfe, 0, 0, 0, self.ports.len() as u8]),
        };
        let idx = self.vnet.interfaces_mut().add_hw(name, mac, out_node)?;
        let mut rx_placement = Vec::new();
        if let Some(d) = &dev {
            let (rxq, txq) = {
                let g = lock(d);
                (g.rx_queues(), g.tx_queues().max(1))
            };
            // Each rx queue is polled by one worker, round robin; every worker can send on
            // the device (its own tx queue when there are enough).
            for q in 0..rxq {
                let w = self.next_worker % self.graphs.len();
                self.next_worker += 1;
                let d = d.clone();
                self.graphs.on(w, move |g| {
                    DeviceInput::attach(g, in_node, d, q, idx, vnet::names::ETHERNET_INPUT)
                })??;
                rx_placement.push((w, q));
            }
            for w in 0..self.graphs.len() {
                let d = d.clone();
                self.graphs.on(w, move |g| {
                    DeviceOutput::attach(g, out_node, d, w % txq, idx)
                })??;
            }
        }
        for r in self
            .graphs
            .each(move |g| vnet::output::InterfaceOutput::attach(g, idx, out_node))?
        {
            r?;
        }
        let (stats, hw) = match &dev {
            Some(d) => {
                let g = lock(d);
                (Some(g.stats().clone()), g.hw_info().to_string())
            }
            None => (
                None,
                "  driver pg (packet generator); transmits into null-output".to_string(),
            ),
        };
        if let Some(s) = &stats {
            self.devices.insert(idx, s.clone());
        }
        self.ports.push(Port {
            if_index: idx,
            name: name.to_string(),
            driver,
            dev,
            stats,
            hw,
            xdp: xdp_prog,
            in_node,
            out_node,
            rx_placement,
        });
        self.logf(format!(
            "interface {name} created (driver {driver:?}, index {idx})"
        ));
        Ok(idx)
    }

    /// Punts packets for our addresses that no node handles to the host through TAP
    /// interface `name`.
    pub fn set_punt(&mut self, name: &str) -> Result<()> {
        let port = self
            .ports
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| anyhow!("no interface {name:?}"))?;
        if port.driver != Driver::Tap {
            bail!("{name} is not a tap interface");
        }
        let dev = port
            .dev
            .as_ref()
            .ok_or_else(|| anyhow!("{name} has no device"))?;
        let host_mac = EthernetAddress(lock(dev).mac());
        let if_index = port.if_index;
        for r in self
            .graphs
            .each(move |g| vnet::punt::Ip4Punt::configure(g, if_index, host_mac))?
        {
            r?;
        }
        self.logf(format!(
            "punting unhandled local traffic to the host through {name}"
        ));
        Ok(())
    }

    /// `set interface state`.
    pub fn set_state(&mut self, idx: IfIndex, up: bool) -> Result<()> {
        self.vnet.interfaces_mut().set_admin_up(idx, up)?;
        if let Some(p) = self.ports.iter().find(|p| p.if_index == idx) {
            if let Some(d) = &p.dev {
                lock(d).set_admin_up(up)?;
            }
        }
        Ok(())
    }

    /// `set interface ip address [del]`.
    pub fn set_address(&mut self, idx: IfIndex, a: IpCidr, del: bool) -> Result<()> {
        match (a, del) {
            (IpCidr::V4(c), false) => self.vnet.ip4_add_address(idx, c)?,
            (IpCidr::V4(c), true) => self.vnet.ip4_del_address(idx, c)?,
            (IpCidr::V6(c), false) => self.vnet.ip6_add_address(idx, c)?,
            (IpCidr::V6(c), true) => self.vnet.ip6_del_address(idx, c)?,
        }
        Ok(())
    }

    /// `ip route add`.
    pub fn add_route(&mut self, prefix: IpCidr, target: &RouteTarget) -> Result<()> {
        let p = match prefix {
            IpCidr::V4(p) => p,
            IpCidr::V6(p) => return self.add_route6(p, target),
        };
        let if_of = |name: &str| -> Result<IfIndex> {
            self.vnet
                .interfaces()
                .by_name(name)
                .map(|i| i.index)
                .ok_or_else(|| anyhow!("no interface {name:?}"))
        };
        match target {
            RouteTarget::Via {
                via: std::net::IpAddr::V4(v),
                interface,
            } => {
                let i = interface.as_deref().map(if_of).transpose()?;
                self.vnet.ip4_add_route(p, Some(*v), i)?;
            }
            RouteTarget::Via { .. } => bail!("via: an IPv4 route needs an IPv4 next hop"),
            RouteTarget::Interface(n) => {
                let i = if_of(n)?;
                self.vnet.ip4_add_route(p, None, Some(i))?;
            }
            RouteTarget::Blackhole => self.vnet.ip4_add_blackhole(p)?,
            RouteTarget::Unreachable => self.vnet.ip4_add_unreachable(p)?,
        }
        Ok(())
    }

    /// `ip route add` for an IPv6 prefix.
    fn add_route6(&mut self, p: wire::ipv6::Ipv6Cidr, target: &RouteTarget) -> Result<()> {
        let if_of = |name: &str| -> Result<IfIndex> {
            self.vnet
                .interfaces()
                .by_name(name)
                .map(|i| i.index)
                .ok_or_else(|| anyhow!("no interface {name:?}"))
        };
        match target {
            RouteTarget::Via {
                via: std::net::IpAddr::V6(v),
                interface,
            } => {
                let i = interface.as_deref().map(if_of).transpose()?;
                self.vnet.ip6_add_route(p, Some(*v), i)?;
            }
            RouteTarget::Via { .. } => bail!("via: an IPv6 route needs an IPv6 next hop"),
            RouteTarget::Interface(n) => {
                let i = if_of(n)?;
                self.vnet.ip6_add_route(p, None, Some(i))?;
            }
            RouteTarget::Blackhole => self.vnet.ip6_add_blackhole(p)?,
            RouteTarget::Unreachable => self.vnet.ip6_add_unreachable(p)?,
        }
        Ok(())
    }

    /// The graph clock: nanoseconds since start.
    fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// Forwards until `stop` is set, answering the CLI and metrics between dispatches.
    pub fn run(
        &mut self,
        stop: &AtomicBool,
        mut cli: Option<ctl::CliServer>,
        mut metrics: Option<metrics::Metrics>,
    ) {
        self.metrics_addr = metrics.as_ref().and_then(|m| m.local_addr().ok());
        if self.config.workers > 0 {
            if let Err(e) = self.graphs.start(self.start) {
                eprintln!("uplane: starting worker threads: {e}");
                self.logf(format!("starting worker threads: {e}"));
                return;
            }
            self.logf(format!("{} worker threads started", self.graphs.len()));
        }
        let mut idle_rounds = 0u32;
        let mut last_poll = self.now();
        while !stop.load(Ordering::Relaxed) {
            let now = self.now();
            let busy = match self.graphs.main_graph() {
                Some(g) => {
                    let d = g.dispatch(now);
                    d.polled > 0 || g.has_pending()
                }
                // The workers forward: the main thread only answers.
                None => false,
            };
            if busy {
                idle_rounds = 0;
            } else {
                idle_rounds = idle_rounds.saturating_add(1);
            }
            // Control work every millisecond, and every round once napping below. Not on
            // every round that found nothing: under traffic most rounds find a few packets
            // or none, and each control poll is a syscall (accept4, 0.6% of uplane's CPU
            // in veth_forward); `now` is the dispatch's clock, read once per round.
            if idle_rounds > 1000 || now.saturating_sub(last_poll) >= 1_000_000 {
                last_poll = now;
                if let Some(c) = cli.as_mut() {
                    c.poll(self);
                }
                if let Some(m) = metrics.as_mut() {
                    m.poll(&mut || cli::prometheus(self));
                }
            }
            // Nothing arrived for a while (or workers forward): nap briefly instead of
            // spinning a core at 100% on a machine that is also a lab host.
            if idle_rounds > 1000 || (self.config.workers > 0 && idle_rounds > 0) {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        for f in self.graphs.stop() {
            eprintln!("uplane: {f}");
            self.logf(f);
        }
        self.shutdown_io();
        self.logf("stopping".into());
    }

    /// Worker threads configured (at least 1: the main thread's graph).
    fn workers(&self) -> usize {
        self.graphs.len()
    }

    /// AF_PACKET on `host`: one socket per worker, joined in a fanout group that spreads
    /// flows over them.
    fn af_packet_config(&self, host: &str) -> io::af_packet::AfPacketConfig {
        let mut cfg = io::af_packet::AfPacketConfig::new(host);
        cfg.queues = self.workers();
        cfg
    }

    /// The vnet state (interfaces, routes, neighbours).
    pub fn vnet(&self) -> &Vnet {
        &self.vnet
    }

    /// Graphs (one per worker thread, or the main thread's one).
    pub fn graph_count(&self) -> usize {
        self.graphs.len()
    }
}

/// A graph with vnet's nodes and every device node (one per worker).
fn build_graph(vnet: &Vnet, pool: &Arc<BufferPool>) -> Result<Graph> {
    let mut b = GraphBuilder::new();
    vnet::register(&mut b, vnet);
    b.add(PgInput::new())
        .add(NullOutput::new())
        .add(io::af_packet::input_node())
        .add(io::af_packet::output_node())
        .add(io::tap::input_node())
        .add(io::tap::output_node())
        .add(io::af_xdp::input_node())
        .add(io::af_xdp::output_node())
        .add(vnet::punt::Ip4Punt::new(vnet))
        .add(stack_node::StackInput::new())
        .add(stack_node::StackOutput::new());
    pcap::register(&mut b);
    b.build(BufferCache::new(pool.clone()))
        .context("building the graph")
}

/// Fills `out` from the kernel's random source (the stack's hash and ISN secret); a
/// clock-derived value if that fails.
fn sys_random(out: &mut [u8]) {
    use std::io::Read;
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(out))
        .is_ok();
    if !ok {
        let t = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
            .to_le_bytes();
        for (o, b) in out.iter_mut().zip(t.iter().cycle()) {
            *o ^= b;
        }
    }
}

/// The kernel rx queues of `host` (`/sys/class/net/HOST/queues/rx-*`; 1 if unknown).
fn host_rx_queues(host: &str) -> usize {
    std::fs::read_dir(format!("/sys/class/net/{host}/queues"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with("rx-"))
                .count()
        })
        .unwrap_or(1)
        .max(1)
}
