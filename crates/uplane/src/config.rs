//! The startup configuration: TOML, checked completely before anything starts.
//!
//! Every problem is reported as `FILE:LINE:COLUMN: FIELD: what is wrong (what was
//! expected)`, where FIELD is the path in the file (`interface[1].address[0]`). Parsing is
//! two steps: serde reads the TOML into raw structures that keep each value's position
//! (`toml::Spanned`), then [`Config::from_raw`] checks meanings (addresses, drivers, names,
//! references between sections) and builds the typed [`Config`].

use core::net::{IpAddr, SocketAddr};
use serde::Deserialize;
use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use toml::Spanned;
use wire::ethernet::EthernetAddress;
use wire::ipv4::Ipv4Cidr;
use wire::ipv6::Ipv6Cidr;

/// The CLI socket when the config names none.
pub const DEFAULT_CLI_SOCKET: &str = "/run/uplane/cli.sock";
/// The metrics listener when the config names none.
pub const DEFAULT_METRICS: &str = "127.0.0.1:9090";

/// A configuration problem, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line (0 when the problem has no single place).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The field's path (`interface[0].driver`); empty for syntax errors.
    pub field: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// An interface's driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// AF_XDP socket on a kernel interface, with uplane's XDP program.
    AfXdp,
    /// AF_PACKET mmap rings on a kernel interface.
    AfPacket,
    /// A TAP interface toward the host kernel.
    Tap,
    /// Packets read from (and written to) pcap files.
    Pcap,
    /// The packet generator.
    Pg,
}

impl Driver {
    const NAMES: &'static str = "af_xdp, af_packet, tap, pcap or pg";

    fn parse(s: &str) -> Option<Driver> {
        Some(match s {
            "af_xdp" => Driver::AfXdp,
            "af_packet" => Driver::AfPacket,
            "tap" => Driver::Tap,
            "pcap" => Driver::Pcap,
            "pg" => Driver::Pg,
            _ => return None,
        })
    }

    /// True if the driver takes over a kernel interface named by `host-if`.
    pub fn needs_host_if(self) -> bool {
        matches!(self, Driver::AfXdp | Driver::AfPacket)
    }
}

/// An IPv4 or IPv6 address with its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpCidr {
    /// IPv4.
    V4(Ipv4Cidr),
    /// IPv6.
    V6(Ipv6Cidr),
}

impl IpCidr {
    fn parse(s: &str) -> Option<IpCidr> {
        if s.contains(':') {
            s.parse().ok().map(IpCidr::V6)
        } else {
            s.parse().ok().map(IpCidr::V4)
        }
    }
}

impl fmt::Display for IpCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpCidr::V4(c) => c.fmt(f),
            IpCidr::V6(c) => c.fmt(f),
        }
    }
}

/// One `[[interface]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceConfig {
    /// uplane's name for it.
    pub name: String,
    /// Its driver.
    pub driver: Driver,
    /// The kernel interface it takes over (af_xdp, af_packet) or creates (tap).
    pub host_if: Option<String>,
    /// Its addresses.
    pub addresses: Vec<IpCidr>,
    /// L3 MTU.
    pub mtu: u16,
    /// MAC address (default: the device's, or a locally administered one).
    pub mac: Option<EthernetAddress>,
    /// Driver `pcap` only: its files and replay pace.
    pub pcap: Option<PcapConfig>,
    /// Driver `af_xdp` only: its sockets' rings (`rx-ring-size`, `tx-ring-size`; the fill
    /// and completion rings are twice those), the defaults unless given.
    pub xdp_rings: Option<sys::xsk::XskConfig>,
}

/// The files of a `driver = "pcap"` interface (`rx-file`, `tx-file`, `timing`, `rx-loop`,
/// `tx-resolution`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcapConfig {
    /// The capture replayed as received packets.
    pub rx_file: Option<PathBuf>,
    /// The pcap sent packets are written into (created or truncated).
    pub tx_file: Option<PathBuf>,
    /// `"full-speed"` (default) or `"capture"` (spaced as captured).
    pub timing: io::pg::Timing,
    /// Replay forever instead of once.
    pub rx_loop: bool,
    /// `"micro"` (default) or `"nano"` second timestamps in the tx file.
    pub tx_resolution: io::pcap::TsResolution,
}

/// One `[[neighbor]]`: a static neighbour (ARP/ND entry that never ages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighborConfig {
    /// The interface it is on.
    pub interface: String,
    /// Its address.
    pub ip: IpAddr,
    /// Its MAC.
    pub mac: EthernetAddress,
}

/// Where a route sends packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteTarget {
    /// Via a next hop, optionally pinned to an interface.
    Via {
        /// Next hop.
        via: IpAddr,
        /// Interface name.
        interface: Option<String>,
    },
    /// Out of an interface, the destination itself being the next hop.
    Interface(String),
    /// Dropped silently.
    Blackhole,
    /// Dropped with ICMP unreachable.
    Unreachable,
}

/// One `[[route]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteConfig {
    /// The destination prefix (host bits cleared).
    pub prefix: IpCidr,
    /// Where it goes.
    pub target: RouteTarget,
}

/// One `[[service]]`: a small service on the data-plane addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConfig {
    /// `echo`, `discard` or `http`.
    pub kind: String,
    /// Address and port.
    pub listen: SocketAddr,
}

/// The checked configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where the file came from (for messages).
    pub file: PathBuf,
    /// CLI socket path.
    pub cli_socket: PathBuf,
    /// Prometheus listener (`None`: off).
    pub metrics: Option<SocketAddr>,
    /// Worker threads (`[cpu] workers`, 0..=64). 0: the main thread forwards between CLI
    /// polls. N: N threads each dispatch their own graph over the rx queues placed on them
    /// (`show interfaces rx-placement`) and the main thread runs the CLI and metrics.
    pub workers: u32,
    /// Packet buffers.
    pub buffers: u32,
    /// Interfaces, in file order.
    pub interfaces: Vec<InterfaceConfig>,
    /// Routes, in file order.
    pub routes: Vec<RouteConfig>,
    /// Static neighbours, in file order.
    pub neighbors: Vec<NeighborConfig>,
    /// Services, in file order.
    pub services: Vec<ServiceConfig>,
    /// The TAP interface packets for our addresses go to when no uplane node handles them.
    pub punt: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCli {
    socket: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    listen: Option<Spanned<String>>,
    enable: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCpu {
    workers: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPunt {
    interface: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawBuffers {
    count: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawInterface {
    name: Spanned<String>,
    driver: Spanned<String>,
    host_if: Option<Spanned<String>>,
    #[serde(default)]
    address: Vec<Spanned<String>>,
    mtu: Option<Spanned<u32>>,
    mac: Option<Spanned<String>>,
    rx_file: Option<Spanned<String>>,
    tx_file: Option<Spanned<String>>,
    timing: Option<Spanned<String>>,
    rx_loop: Option<Spanned<bool>>,
    tx_resolution: Option<Spanned<String>>,
    rx_ring_size: Option<Spanned<u32>>,
    tx_ring_size: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNeighbor {
    interface: Spanned<String>,
    ip: Spanned<String>,
    mac: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    prefix: Spanned<String>,
    via: Option<Spanned<String>>,
    interface: Option<Spanned<String>>,
    kind: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    kind: Spanned<String>,
    listen: Spanned<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    cli: RawCli,
    #[serde(default)]
    metrics: RawMetrics,
    #[serde(default)]
    cpu: RawCpu,
    #[serde(default)]
    buffers: RawBuffers,
    #[serde(default)]
    punt: RawPunt,
    #[serde(default)]
    interface: Vec<RawInterface>,
    #[serde(default)]
    route: Vec<RawRoute>,
    #[serde(default)]
    service: Vec<RawService>,
    #[serde(default)]
    neighbor: Vec<RawNeighbor>,
}

/// Turns byte offsets into line and column for messages.
struct Locator<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Locator<'_> {
    fn at(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before
            .rfind('\n')
            .map_or(before.len(), |nl| before.len() - nl - 1)
            + 1;
        (line, column)
    }

    fn err<T>(
        &self,
        v: &Spanned<T>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> ConfigError {
        let (line, column) = self.at(v.span().start);
        ConfigError {
            file: self.file.to_path_buf(),
            line,
            column,
            field: field.into(),
            message: message.into(),
        }
    }
}

impl Config {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            field: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        Config::parse(path, &text)
    }

    /// Checks `text` as if read from `file`.
    pub fn parse(file: &Path, text: &str) -> Result<Config, ConfigError> {
        let loc = Locator { file, text };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((0, 0), |s| loc.at(s.start));
            ConfigError {
                file: file.to_path_buf(),
                line,
                column,
                field: String::new(),
                message: e.message().trim().to_string(),
            }
        })?;
        Config::from_raw(&loc, raw)
    }

    fn from_raw(loc: &Locator<'_>, raw: RawConfig) -> Result<Config, ConfigError> {
        let cli_socket = match &raw.cli.socket {
            Some(s) if s.get_ref().is_empty() => {
                return Err(loc.err(s, "cli.socket", "empty path"))
            }
            Some(s) => PathBuf::from(s.get_ref()),
            None => PathBuf::from(DEFAULT_CLI_SOCKET),
        };
        let metrics = if raw.metrics.enable == Some(false) {
            None
        } else {
            match &raw.metrics.listen {
                Some(s) => Some(s.get_ref().parse::<SocketAddr>().map_err(|_| {
                    loc.err(
                        s,
                        "metrics.listen",
                        format!(
                            "{:?} is not an address:port (expected like 127.0.0.1:9090)",
                            s.get_ref()
                        ),
                    )
                })?),
                None => DEFAULT_METRICS.parse().ok(),
            }
        };
        let workers = match &raw.cpu.workers {
            Some(w) if *w.get_ref() > 64 => {
                return Err(loc.err(w, "cpu.workers", format!("{} is above 64", w.get_ref())))
            }
            Some(w) => *w.get_ref(),
            None => 0,
        };
        let buffers = match &raw.buffers.count {
            Some(c) if !(1024..=buf::BufferPool::MAX_BUFFERS).contains(c.get_ref()) => {
                return Err(loc.err(
                    c,
                    "buffers.count",
                    format!(
                        "{} is outside 1024..={}",
                        c.get_ref(),
                        buf::BufferPool::MAX_BUFFERS
                    ),
                ))
            }
            Some(c) => *c.get_ref(),
            None => 16 * 1024,
        };

        let mut names = HashSet::new();
        let mut interfaces = Vec::new();
        // Buffers the AF_XDP interfaces' rings hold when full, and their names.
        let mut xdp_held: (u64, Vec<String>) = (0, Vec::new());
        for (i, r) in raw.interface.iter().enumerate() {
            let f = |name: &str| format!("interface[{i}].{name}");
            let name = r.name.get_ref();
            if name.is_empty()
                || name.len() > 32
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(loc.err(
                    &r.name,
                    f("name"),
                    format!("{name:?}: expected 1 to 32 letters, digits, '-', '_' or '.'"),
                ));
            }
            if !names.insert(name.clone()) {
                return Err(loc.err(
                    &r.name,
                    f("name"),
                    format!("{name:?} is used by an earlier interface"),
                ));
            }
            let driver = Driver::parse(r.driver.get_ref()).ok_or_else(|| {
                loc.err(
                    &r.driver,
                    f("driver"),
                    format!(
                        "{:?} is not a driver (expected {})",
                        r.driver.get_ref(),
                        Driver::NAMES
                    ),
                )
            })?;
            let host_if = r.host_if.as_ref().map(|h| h.get_ref().clone());
            if driver.needs_host_if() && host_if.is_none() {
                return Err(loc.err(
                    &r.driver,
                    f("host-if"),
                    format!(
                        "driver {:?} needs host-if (the kernel interface to take over)",
                        r.driver.get_ref()
                    ),
                ));
            }
            if let Some(h) = &r.host_if {
                if h.get_ref().is_empty() || h.get_ref().len() > 15 {
                    return Err(loc.err(
                        h,
                        f("host-if"),
                        format!("{:?}: a Linux interface name is 1 to 15 bytes", h.get_ref()),
                    ));
                }
            }
            let mut addresses = Vec::new();
            for (k, a) in r.address.iter().enumerate() {
                let c = IpCidr::parse(a.get_ref()).ok_or_else(|| {
                    loc.err(a, f(&format!("address[{k}]")), format!("{:?} is not an address with prefix (expected like 10.1.0.1/24 or fd01::1/64)", a.get_ref()))
                })?;
                addresses.push(c);
            }
            let mtu = match &r.mtu {
                Some(m) if !(68..=9000).contains(m.get_ref()) => {
                    return Err(loc.err(
                        m,
                        f("mtu"),
                        format!("{} is outside 68..=9000", m.get_ref()),
                    ))
                }
                Some(m) => *m.get_ref() as u16,
                None => 1500,
            };
            let mac = match &r.mac {
                Some(m) => Some(parse_mac(m.get_ref()).ok_or_else(|| {
                    loc.err(
                        m,
                        f("mac"),
                        format!(
                            "{:?} is not a MAC address (expected like 02:00:00:00:00:01)",
                            m.get_ref()
                        ),
                    )
                })?),
                None => None,
            };
            let pcap = pcap_config(loc, r, driver, &f)?;
            let xdp_rings = xdp_rings(loc, r, driver, &f)?;
            if let Some(rings) = &xdp_rings {
                // One socket per worker at most (per kernel rx queue, up to the workers).
                let held = rings.frames_held() * u64::from(workers.max(1));
                xdp_held.0 += held;
                xdp_held.1.push(name.clone());
                if xdp_held.0 > u64::from(buf::BufferPool::MAX_BUFFERS) {
                    let at = r
                        .rx_ring_size
                        .as_ref()
                        .map_or(r.driver.span(), Spanned::span);
                    let (line, column) = loc.at(at.start);
                    return Err(ConfigError {
                        file: loc.file.to_path_buf(),
                        line,
                        column,
                        field: f("rx-ring-size"),
                        message: format!(
                            "the AF_XDP rings of the interfaces up to this one hold {} buffers, \
                             more than a pool can have ({}): make the rings smaller",
                            xdp_held.0,
                            buf::BufferPool::MAX_BUFFERS
                        ),
                    });
                }
            }
            interfaces.push(InterfaceConfig {
                name: name.clone(),
                driver,
                host_if,
                addresses,
                mtu,
                mac,
                pcap,
                xdp_rings,
            });
        }
        let buffers = if xdp_held.1.is_empty() {
            buffers
        } else {
            // The rings can hold this many at once; the graphs need some beyond that.
            let needed = xdp_held.0 + u64::from(GRAPH_BUFFERS) * u64::from(workers.max(1));
            let needed = needed.min(u64::from(buf::BufferPool::MAX_BUFFERS)) as u32;
            match &raw.buffers.count {
                Some(c) if *c.get_ref() < needed => {
                    return Err(loc.err(
                        c,
                        "buffers.count",
                        format!(
                            "{} buffers cannot keep the AF_XDP rings full: the rings of {} \
                             hold up to {} buffers when full (fill + rx + tx + completion, \
                             one socket per worker at most) and each of {} graph(s) needs {} \
                             more: at least {needed} (or smaller rx-ring-size / tx-ring-size)",
                            c.get_ref(),
                            xdp_held.1.join(", "),
                            xdp_held.0,
                            workers.max(1),
                            GRAPH_BUFFERS
                        ),
                    ))
                }
                Some(_) => buffers,
                None => buffers.max(needed),
            }
        };

        let mut routes = Vec::new();
        for (i, r) in raw.route.iter().enumerate() {
            let f = |name: &str| format!("route[{i}].{name}");
            let prefix = IpCidr::parse(r.prefix.get_ref()).ok_or_else(|| {
                loc.err(
                    &r.prefix,
                    f("prefix"),
                    format!(
                        "{:?} is not a prefix (expected like 10.8.0.0/16)",
                        r.prefix.get_ref()
                    ),
                )
            })?;
            let prefix = match prefix {
                IpCidr::V4(c) => IpCidr::V4(c.network()),
                IpCidr::V6(c) => IpCidr::V6(
                    Ipv6Cidr::new(mask6(c.address(), c.prefix_len()), c.prefix_len()).unwrap_or(c),
                ),
            };
            let interface = match &r.interface {
                Some(n) if !names.contains(n.get_ref()) => {
                    return Err(loc.err(
                        n,
                        f("interface"),
                        format!("{:?} is not an interface of this config", n.get_ref()),
                    ))
                }
                Some(n) => Some(n.get_ref().clone()),
                None => None,
            };
            let target =
                match (&r.kind, &r.via) {
                    (Some(k), via) => {
                        let t = match k.get_ref().as_str() {
                            "blackhole" => RouteTarget::Blackhole,
                            "unreachable" => RouteTarget::Unreachable,
                            other => {
                                return Err(loc.err(
                                    k,
                                    f("kind"),
                                    format!(
                                "{other:?} is not a route kind (expected blackhole or unreachable)"
                            ),
                                ))
                            }
                        };
                        if let Some(v) = via {
                            return Err(loc.err(
                                v,
                                f("via"),
                                "a blackhole or unreachable route has no next hop",
                            ));
                        }
                        t
                    }
                    (None, Some(v)) => {
                        let via: IpAddr = v.get_ref().parse().map_err(|_| {
                            loc.err(
                                v,
                                f("via"),
                                format!("{:?} is not an IP address", v.get_ref()),
                            )
                        })?;
                        if via.is_ipv4() != matches!(prefix, IpCidr::V4(_)) {
                            return Err(loc.err(
                                v,
                                f("via"),
                                "next hop and prefix are of different IP versions",
                            ));
                        }
                        RouteTarget::Via { via, interface }
                    }
                    (None, None) => match interface {
                        Some(n) => RouteTarget::Interface(n),
                        None => return Err(loc.err(
                            &r.prefix,
                            f("via"),
                            "a route needs via, interface, or kind = \"blackhole\"/\"unreachable\"",
                        )),
                    },
                };
            routes.push(RouteConfig { prefix, target });
        }

        let mut services = Vec::new();
        for (i, s) in raw.service.iter().enumerate() {
            let kind = s.kind.get_ref();
            if !["echo", "discard", "http"].contains(&kind.as_str()) {
                return Err(loc.err(
                    &s.kind,
                    format!("service[{i}].kind"),
                    format!("{kind:?} is not a service (expected echo, discard or http)"),
                ));
            }
            let listen = s.listen.get_ref().parse::<SocketAddr>().map_err(|_| {
                loc.err(
                    &s.listen,
                    format!("service[{i}].listen"),
                    format!("{:?} is not an address:port", s.listen.get_ref()),
                )
            })?;
            // The service runs on uplane's own stack: it can only listen on an address
            // of one of uplane's interfaces (not 0.0.0.0, not a host kernel address).
            let ours =
                interfaces
                    .iter()
                    .flat_map(|i| &i.addresses)
                    .any(|a| match (a, listen.ip()) {
                        (IpCidr::V4(c), IpAddr::V4(l)) => c.address() == l,
                        (IpCidr::V6(c), IpAddr::V6(l)) => c.address() == l,
                        _ => false,
                    });
            if !ours {
                return Err(loc.err(
                    &s.listen,
                    format!("service[{i}].listen"),
                    format!(
                        "{} is not an address of any [[interface]] (a service listens on one of uplane's interface addresses)",
                        listen.ip()
                    ),
                ));
            }
            if listen.port() == 0 {
                return Err(loc.err(
                    &s.listen,
                    format!("service[{i}].listen"),
                    "port 0: a service needs a fixed port",
                ));
            }
            if services.iter().any(|o: &ServiceConfig| o.listen == listen) {
                return Err(loc.err(
                    &s.listen,
                    format!("service[{i}].listen"),
                    format!("{listen} is already the address of an earlier service"),
                ));
            }
            services.push(ServiceConfig {
                kind: kind.clone(),
                listen,
            });
        }

        let mut neighbors = Vec::new();
        for (i, n) in raw.neighbor.iter().enumerate() {
            let f = |name: &str| format!("neighbor[{i}].{name}");
            if !names.contains(n.interface.get_ref()) {
                return Err(loc.err(
                    &n.interface,
                    f("interface"),
                    format!(
                        "{:?} is not an interface of this config",
                        n.interface.get_ref()
                    ),
                ));
            }
            let ip: IpAddr = n.ip.get_ref().parse().map_err(|_| {
                loc.err(
                    &n.ip,
                    f("ip"),
                    format!(
                        "{:?} is not an IP address (expected like 10.2.0.2 or fd02::2)",
                        n.ip.get_ref()
                    ),
                )
            })?;
            let mac = parse_mac(n.mac.get_ref()).ok_or_else(|| {
                loc.err(
                    &n.mac,
                    f("mac"),
                    format!(
                        "{:?} is not a MAC address (expected like 02:00:00:00:00:01)",
                        n.mac.get_ref()
                    ),
                )
            })?;
            neighbors.push(NeighborConfig {
                interface: n.interface.get_ref().clone(),
                ip,
                mac,
            });
        }

        let punt = match &raw.punt.interface {
            Some(n) => match interfaces.iter().find(|i| i.name == *n.get_ref()) {
                None => return Err(loc.err(n, "punt.interface", format!("{:?} is not an interface of this config", n.get_ref()))),
                Some(i) if i.driver != Driver::Tap => {
                    return Err(loc.err(n, "punt.interface", format!("{:?} is not a tap interface (punting goes to the host kernel through a TAP)", n.get_ref())))
                }
                Some(_) if !services.is_empty() => {
                    return Err(loc.err(n, "punt.interface", "[punt] and [[service]] both want the TCP/UDP that ip4-local hands off: use one of them"))
                }
                Some(i) => Some(i.name.clone()),
            },
            None => None,
        };

        Ok(Config {
            file: loc.file.to_path_buf(),
            punt,
            cli_socket,
            metrics,
            workers,
            buffers,
            interfaces,
            routes,
            neighbors,
            services,
        })
    }
}

/// Buffers each graph (worker thread) needs beyond what AF_XDP rings hold: its buffer
/// cache (up to 512), frames queued between nodes, packets waiting for ARP/ND.
const GRAPH_BUFFERS: u32 = 2048;

/// The AF_XDP rings of interface `r`: `rx-ring-size` and `tx-ring-size` (powers of two in
/// 64..=16384; fill and completion rings twice those), only for `driver = "af_xdp"`, which
/// gets the defaults (rx 2048, tx 1024) for what is not given.
fn xdp_rings(
    loc: &Locator<'_>,
    r: &RawInterface,
    driver: Driver,
    f: &dyn Fn(&str) -> String,
) -> Result<Option<sys::xsk::XskConfig>, ConfigError> {
    use sys::xsk::XskConfig;
    let fields = [
        ("rx-ring-size", &r.rx_ring_size),
        ("tx-ring-size", &r.tx_ring_size),
    ];
    if driver != Driver::AfXdp {
        if let Some((field, Some(v))) = fields.into_iter().find(|(_, v)| v.is_some()) {
            return Err(loc.err(
                v,
                f(field),
                format!(
                    "only for driver \"af_xdp\" (this interface's driver is {:?})",
                    r.driver.get_ref()
                ),
            ));
        }
        return Ok(None);
    }
    let mut sizes = [XskConfig::DEFAULT_RX, XskConfig::DEFAULT_TX];
    for ((field, v), size) in fields.into_iter().zip(&mut sizes) {
        if let Some(v) = v {
            let n = *v.get_ref();
            if !n.is_power_of_two() || !(XskConfig::MIN_RING..=XskConfig::MAX_RING).contains(&n) {
                return Err(loc.err(
                    v,
                    f(field),
                    format!(
                        "{n} is not a power of two in {}..={} (descriptors)",
                        XskConfig::MIN_RING,
                        XskConfig::MAX_RING
                    ),
                ));
            }
            *size = n;
        }
    }
    Ok(Some(XskConfig::with_rings(sizes[0], sizes[1])))
}

/// Checks the pcap fields of interface `r`: only for `driver = "pcap"`, which needs at least
/// one of `rx-file` and `tx-file`; `rx-file` must be a readable file and `tx-file`'s
/// directory must exist.
fn pcap_config(
    loc: &Locator<'_>,
    r: &RawInterface,
    driver: Driver,
    f: &dyn Fn(&str) -> String,
) -> Result<Option<PcapConfig>, ConfigError> {
    if driver != Driver::Pcap {
        let given: [(&str, Option<std::ops::Range<usize>>); 5] = [
            ("rx-file", r.rx_file.as_ref().map(Spanned::span)),
            ("tx-file", r.tx_file.as_ref().map(Spanned::span)),
            ("timing", r.timing.as_ref().map(Spanned::span)),
            ("rx-loop", r.rx_loop.as_ref().map(Spanned::span)),
            ("tx-resolution", r.tx_resolution.as_ref().map(Spanned::span)),
        ];
        if let Some((field, Some(span))) = given.into_iter().find(|(_, s)| s.is_some()) {
            let (line, column) = loc.at(span.start);
            return Err(ConfigError {
                file: loc.file.to_path_buf(),
                line,
                column,
                field: f(field),
                message: format!(
                    "only for driver \"pcap\" (this interface's driver is {:?})",
                    r.driver.get_ref()
                ),
            });
        }
        return Ok(None);
    }
    if r.rx_file.is_none() && r.tx_file.is_none() {
        return Err(loc.err(
            &r.driver,
            f("rx-file"),
            "driver \"pcap\" needs rx-file (a capture to replay), tx-file (a pcap to write) or both",
        ));
    }
    let rx_file = match &r.rx_file {
        Some(p) => {
            let path = PathBuf::from(p.get_ref());
            match std::fs::metadata(&path) {
                Ok(m) if m.is_file() => Some(path),
                Ok(_) => {
                    return Err(loc.err(
                        p,
                        f("rx-file"),
                        format!(
                            "{:?} is not a file (expected a pcap or pcapng capture)",
                            p.get_ref()
                        ),
                    ))
                }
                Err(e) => {
                    return Err(loc.err(
                        p,
                        f("rx-file"),
                        format!("{:?}: {e} (expected a pcap or pcapng capture)", p.get_ref()),
                    ))
                }
            }
        }
        None => None,
    };
    let tx_file = match &r.tx_file {
        Some(p) if p.get_ref().is_empty() || p.get_ref().ends_with('/') => {
            return Err(loc.err(
                p,
                f("tx-file"),
                format!("{:?}: expected a file path", p.get_ref()),
            ))
        }
        Some(p) => {
            let path = PathBuf::from(p.get_ref());
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => PathBuf::from("."),
            };
            if !dir.is_dir() {
                return Err(loc.err(
                    p,
                    f("tx-file"),
                    format!("directory {} does not exist", dir.display()),
                ));
            }
            Some(path)
        }
        None => None,
    };
    let timing = match &r.timing {
        Some(t) => match t.get_ref().as_str() {
            "full-speed" => io::pg::Timing::FullSpeed,
            "capture" => io::pg::Timing::Capture,
            other => {
                return Err(loc.err(
                    t,
                    f("timing"),
                    format!("{other:?} is not a timing (expected \"full-speed\" or \"capture\")"),
                ))
            }
        },
        None => io::pg::Timing::FullSpeed,
    };
    let tx_resolution = match &r.tx_resolution {
        Some(t) => match t.get_ref().as_str() {
            "micro" => io::pcap::TsResolution::Micro,
            "nano" => io::pcap::TsResolution::Nano,
            other => {
                return Err(loc.err(
                    t,
                    f("tx-resolution"),
                    format!("{other:?} is not a resolution (expected \"micro\" or \"nano\")"),
                ))
            }
        },
        None => io::pcap::TsResolution::Micro,
    };
    Ok(Some(PcapConfig {
        rx_file,
        tx_file,
        timing,
        rx_loop: r.rx_loop.as_ref().is_some_and(|b| *b.get_ref()),
        tx_resolution,
    }))
}

fn mask6(a: core::net::Ipv6Addr, len: u8) -> core::net::Ipv6Addr {
    let bits = a.to_bits();
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len.min(128)))
    };
    core::net::Ipv6Addr::from_bits(bits & mask)
}

fn parse_mac(s: &str) -> Option<EthernetAddress> {
    let mut out = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut out {
        let p = parts.next()?;
        if p.len() != 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(EthernetAddress(out))
}

/// Fuzz entry point: any bytes give a config or an error, never a panic.
#[doc(hidden)]
pub fn fuzz(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = Config::parse(Path::new("fuzz.toml"), text) {
            let _ = e.to_string();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("uplane.toml"), text)
    }

    const GOOD: &str = r#"
[cli]
socket = "/run/uplane/cli.sock"
[metrics]
listen = "127.0.0.1:9090"
[[interface]]
name = "lan"
driver = "af_xdp"
host-if = "veth-lan"
address = ["10.1.0.1/24", "fd01::1/64"]
[[interface]]
name = "wan"
driver = "af_packet"
host-if = "veth-wan"
address = ["10.2.0.1/24"]
mtu = 1400
mac = "02:00:00:00:00:02"
[[route]]
prefix = "10.8.0.0/16"
via = "10.2.0.2"
[[route]]
prefix = "192.0.2.7/24"
kind = "blackhole"
[[route]]
prefix = "fd08::/48"
interface = "lan"
[[service]]
kind = "echo"
listen = "10.1.0.1:7"
"#;

    #[test]
    fn the_issue_example_parses() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.interfaces.len(), 2);
        assert_eq!(c.interfaces[0].driver, Driver::AfXdp);
        assert_eq!(c.interfaces[0].addresses[1].to_string(), "fd01::1/64");
        assert_eq!(c.interfaces[1].mtu, 1400);
        assert_eq!(
            c.routes[0].target,
            RouteTarget::Via {
                via: "10.2.0.2".parse().unwrap(),
                interface: None
            }
        );
        assert_eq!(
            c.routes[1].prefix.to_string(),
            "192.0.2.0/24",
            "host bits cleared"
        );
        assert_eq!(c.routes[1].target, RouteTarget::Blackhole);
        assert_eq!(c.routes[2].target, RouteTarget::Interface("lan".into()));
        assert_eq!(c.metrics, Some("127.0.0.1:9090".parse().unwrap()));
        assert_eq!(c.workers, 0);
    }

    #[test]
    fn cpu_workers_up_to_64() {
        for n in [0, 2, 64] {
            let c = parse(&format!("[cpu]\nworkers = {n}\n")).unwrap();
            assert_eq!(c.workers, n);
        }
        assert!(parse("[cpu]\nworkers = 65\n").is_err());
    }

    #[test]
    fn pcap_interfaces_and_neighbors_parse() {
        let c = parse(
            "[[interface]]\nname = \"in\"\ndriver = \"pcap\"\nrx-file = \"Cargo.toml\"\ntiming = \"capture\"\nrx-loop = true\n\
             [[interface]]\nname = \"out\"\ndriver = \"pcap\"\ntx-file = \"/tmp/uplane-out.pcap\"\ntx-resolution = \"nano\"\n\
             [[neighbor]]\ninterface = \"out\"\nip = \"10.2.0.2\"\nmac = \"02:00:00:00:00:02\"\n",
        )
        .unwrap();
        let p = c.interfaces[0].pcap.as_ref().unwrap();
        assert_eq!(p.rx_file, Some(PathBuf::from("Cargo.toml")));
        assert_eq!((p.timing, p.rx_loop), (io::pg::Timing::Capture, true));
        let p = c.interfaces[1].pcap.as_ref().unwrap();
        assert_eq!(p.tx_resolution, io::pcap::TsResolution::Nano);
        assert_eq!(p.rx_file, None);
        assert_eq!(c.neighbors[0].ip, "10.2.0.2".parse::<IpAddr>().unwrap());
    }

    /// AF_XDP rings: defaults, sizes given, and a pool sized to hold them when
    /// `buffers.count` is not given (one socket per worker at most).
    #[test]
    fn af_xdp_rings_and_the_pool_that_holds_them() {
        let lan = "[[interface]]\nname = \"lan\"\ndriver = \"af_xdp\"\nhost-if = \"l\"\n";
        let c = parse(lan).unwrap();
        let r = c.interfaces[0].xdp_rings.unwrap();
        assert_eq!(
            (r.rx_size, r.fill_size, r.tx_size, r.comp_size),
            (2048, 4096, 1024, 2048)
        );
        assert_eq!(
            c.buffers,
            16 * 1024,
            "9216 held + 2048 fit the usual default"
        );
        let c = parse(&format!("{lan}rx-ring-size = 8192\ntx-ring-size = 512\n")).unwrap();
        let r = c.interfaces[0].xdp_rings.unwrap();
        assert_eq!(
            (r.rx_size, r.fill_size, r.tx_size, r.comp_size),
            (8192, 16384, 512, 1024)
        );
        assert_eq!(c.buffers, 8192 + 16384 + 512 + 1024 + 2048);
        // Two interfaces, two workers: 4 sockets of 9216, 2 graphs of 2048.
        let two = format!("[cpu]\nworkers = 2\n{lan}{}", lan.replace("lan", "wan"));
        assert_eq!(parse(&two).unwrap().buffers, 4 * 9216 + 2 * 2048);
        // Given and enough: kept.
        let c = parse(&format!("[buffers]\ncount = 65536\n{two}")).unwrap();
        assert_eq!(c.buffers, 65536);
        assert!(parse(&format!("[buffers]\ncount = 40959\n{two}")).is_err());
        // Other drivers have no rings here and leave the pool alone.
        let c = parse("[[interface]]\nname = \"a\"\ndriver = \"af_packet\"\nhost-if = \"e\"\n")
            .unwrap();
        assert_eq!((c.interfaces[0].xdp_rings, c.buffers), (None, 16 * 1024));
    }

    #[test]
    fn empty_file_is_all_defaults() {
        let c = parse("").unwrap();
        assert_eq!(c.cli_socket, PathBuf::from(DEFAULT_CLI_SOCKET));
        assert!(c.interfaces.is_empty());
    }

    /// Each bad config names file, line and field and says what was expected.
    #[test]
    fn errors_name_file_line_and_field() {
        let cases: &[(&str, &str, usize, &str)] = &[
            ("[[interface]]\nname = \"a\"\ndriver = \"dpdk\"\n", "interface[0].driver", 3, "af_xdp, af_packet"),
            ("[[interface]]\nname = \"a\"\ndriver = \"af_xdp\"\n", "interface[0].host-if", 3, "needs host-if"),
            ("[[interface]]\nname = \"a\"\ndriver = \"tap\"\naddress = [\"10.1.0.1/33\"]\n", "interface[0].address[0]", 4, "10.1.0.1/24"),
            ("[[interface]]\nname = \"a\"\ndriver = \"tap\"\nmtu = 20\n", "interface[0].mtu", 4, "68..=9000"),
            ("[[interface]]\nname = \"a\"\ndriver = \"tap\"\n[[interface]]\nname = \"a\"\ndriver = \"tap\"\n", "interface[1].name", 5, "earlier"),
            ("[[route]]\nprefix = \"10.0.0.0/8\"\nvia = \"fd00::1\"\n", "route[0].via", 3, "different IP versions"),
            ("[[route]]\nprefix = \"10.0.0.0/8\"\ninterface = \"nope\"\n", "route[0].interface", 3, "not an interface"),
            ("[[route]]\nprefix = \"10.0.0.0/8\"\n", "route[0].via", 2, "needs via"),
            ("[[route]]\nprefix = \"ten\"\nvia = \"10.0.0.1\"\n", "route[0].prefix", 2, "10.8.0.0/16"),
            ("[metrics]\nlisten = \"localhost\"\n", "metrics.listen", 2, "address:port"),
            ("[cpu]\nworkers = 1000\n", "cpu.workers", 2, "above 64"),
            ("[[service]]\nkind = \"ftp\"\nlisten = \"10.0.0.1:21\"\n", "service[0].kind", 2, "echo, discard or http"),
            ("[[interface]]\nname = \"a\"\ndriver = \"tap\"\naddress = [\"10.0.0.1/24\"]\n[[service]]\nkind = \"echo\"\nlisten = \"10.0.0.2:7\"\n", "service[0].listen", 7, "not an address of any [[interface]]"),
            ("[[interface]]\nname = \"a\"\ndriver = \"tap\"\naddress = [\"fd00::1/64\"]\n[[service]]\nkind = \"http\"\nlisten = \"0.0.0.0:80\"\n", "service[0].listen", 7, "not an address of any [[interface]]"),
            ("[[interface]]\nname = \"a\"\ndriver = \"tap\"\naddress = [\"10.0.0.1/24\"]\n[[service]]\nkind = \"echo\"\nlisten = \"10.0.0.1:7\"\n[[service]]\nkind = \"discard\"\nlisten = \"10.0.0.1:7\"\n", "service[1].listen", 10, "earlier service"),
            ("[[interface]]\nname = \"a\"\ndriver = \"tap\"\naddress = [\"10.0.0.1/24\"]\n[[service]]\nkind = \"echo\"\nlisten = \"10.0.0.1:7\"\n[punt]\ninterface = \"a\"\n", "punt.interface", 9, "use one of them"),
            ("[punt]\ninterface = \"nope\"\n", "punt.interface", 2, "not an interface"),
            ("[punt]\ninterface = \"a\"\n[[interface]]\nname = \"a\"\ndriver = \"pg\"\n", "punt.interface", 2, "not a tap"),
            ("[[interface]]\nname = \"a\"\ndriver = \"pcap\"\n", "interface[0].rx-file", 3, "needs rx-file"),
            ("[[interface]]\nname = \"a\"\ndriver = \"pcap\"\nrx-file = \"/nonexistent/x.pcap\"\n", "interface[0].rx-file", 4, "expected a pcap"),
            ("[[interface]]\nname = \"a\"\ndriver = \"pcap\"\ntx-file = \"/nonexistent/x.pcap\"\n", "interface[0].tx-file", 4, "does not exist"),
            ("[[interface]]\nname = \"a\"\ndriver = \"pcap\"\ntx-file = \"/tmp/x.pcap\"\ntiming = \"slow\"\n", "interface[0].timing", 5, "full-speed"),
            ("[[interface]]\nname = \"a\"\ndriver = \"pcap\"\ntx-file = \"/tmp/x.pcap\"\ntx-resolution = \"ms\"\n", "interface[0].tx-resolution", 5, "micro"),
            ("[[interface]]\nname = \"a\"\ndriver = \"tap\"\ntx-file = \"/tmp/x.pcap\"\n", "interface[0].tx-file", 4, "only for driver"),
            ("[[interface]]\nname = \"a\"\ndriver = \"af_xdp\"\nhost-if = \"e\"\nrx-ring-size = 3000\n", "interface[0].rx-ring-size", 5, "power of two in 64..=16384"),
            ("[[interface]]\nname = \"a\"\ndriver = \"af_xdp\"\nhost-if = \"e\"\ntx-ring-size = 32\n", "interface[0].tx-ring-size", 5, "power of two"),
            ("[[interface]]\nname = \"a\"\ndriver = \"af_packet\"\nhost-if = \"e\"\nrx-ring-size = 4096\n", "interface[0].rx-ring-size", 5, "only for driver \"af_xdp\""),
            ("[buffers]\ncount = 16384\n[[interface]]\nname = \"a\"\ndriver = \"af_xdp\"\nhost-if = \"e\"\n[[interface]]\nname = \"b\"\ndriver = \"af_xdp\"\nhost-if = \"f\"\n", "buffers.count", 2, "at least 20480"),
            ("[[interface]]\nname = \"a\"\ndriver = \"tap\"\n[[neighbor]]\ninterface = \"b\"\nip = \"10.0.0.2\"\nmac = \"02:00:00:00:00:02\"\n", "neighbor[0].interface", 5, "not an interface"),
            ("[[interface]]\nname = \"a\"\ndriver = \"tap\"\n[[neighbor]]\ninterface = \"a\"\nip = \"10.0.0.300\"\nmac = \"02:00:00:00:00:02\"\n", "neighbor[0].ip", 6, "IP address"),
            ("[[interface]]\nname = \"a\"\ndriver = \"tap\"\n[[neighbor]]\ninterface = \"a\"\nip = \"10.0.0.3\"\nmac = \"02:00\"\n", "neighbor[0].mac", 7, "MAC address"),
        ];
        for (text, field, line, hint) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!(&e.field, field, "{text}\n-> {e}");
            assert_eq!(e.line, *line, "{e}");
            let shown = e.to_string();
            assert!(
                shown.starts_with(&format!("uplane.toml:{line}:")),
                "{shown}"
            );
            assert!(shown.contains(hint), "{shown} should say {hint}");
        }
    }

    #[test]
    fn syntax_and_unknown_fields_point_at_the_place() {
        let e = parse("[[interface]]\nname = \"a\"\ndriver = \"tap\"\nspeed = 10\n").unwrap_err();
        assert_eq!(e.line, 4, "{e}");
        assert!(
            e.message.contains("unknown field") && e.message.contains("speed"),
            "{e}"
        );
        let e = parse("[cli\nsocket = 1\n").unwrap_err();
        assert_eq!(e.line, 1, "{e}");
        let e = parse("[cli]\nsocket = 5\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
    }

    #[test]
    fn any_bytes_give_a_config_or_an_error() {
        // A stable stand-in for fuzzing: mutate the good config byte by byte.
        let good = GOOD.as_bytes();
        for i in 0..good.len() {
            for b in [b'"', b'[', b'=', b'\n', b'x', 0xff] {
                let mut v = good.to_vec();
                v[i] = b;
                if let Ok(s) = std::str::from_utf8(&v) {
                    let _ = parse(s);
                }
            }
        }
    }
}
