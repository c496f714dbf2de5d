//! What each CLI command does to a running [`Daemon`], as text and as JSON.

use super::{workers, Daemon};
use crate::config::{Driver, IpCidr, RouteTarget};
use ctl::grammar::Prefix;
use ctl::{Command, Handler, Response};
use io::device::DeviceStats;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use vnet::ip4::RouteSource;
use vnet::{Dpo, IfIndex, Interfaces, Vnet};
use wire::ipv4::Ipv4Cidr;
use wire::ipv6::Ipv6Cidr;

fn text(t: String) -> Response {
    Response::Text { text: t }
}

fn cidr(p: Prefix) -> Result<IpCidr, String> {
    match p.addr {
        IpAddr::V4(a) => Ipv4Cidr::new(a, p.len)
            .map(IpCidr::V4)
            .map_err(|e| format!("PREFIX: {p}: {e}")),
        IpAddr::V6(a) => Ipv6Cidr::new(a, p.len)
            .map(IpCidr::V6)
            .map_err(|e| format!("PREFIX: {p}: {e}")),
    }
}

/// Every device's counters by interface, shared by the daemon (which adds and removes
/// devices as interfaces come and go) with whoever lists interfaces on any thread
/// (`show interfaces`, the status page): [`if_rows`] reads the live set.
#[derive(Debug, Clone, Default)]
pub struct DeviceCounters(Arc<Mutex<Vec<DeviceEntry>>>);

/// An interface and its device's counters.
type DeviceEntry = (IfIndex, Arc<DeviceStats>);

impl DeviceCounters {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<DeviceEntry>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Interface `idx`'s device counts into `stats` (replacing any earlier device).
    pub fn insert(&self, idx: IfIndex, stats: Arc<DeviceStats>) {
        let mut v = self.lock();
        v.retain(|(i, _)| *i != idx);
        v.push((idx, stats));
    }

    /// Interface `idx` has no device any more.
    pub fn remove(&self, idx: IfIndex) {
        self.lock().retain(|(i, _)| *i != idx);
    }

    fn get(&self, idx: IfIndex) -> Option<Arc<DeviceStats>> {
        self.lock()
            .iter()
            .find(|(i, _)| *i == idx)
            .map(|(_, s)| s.clone())
    }
}

/// One interface's row of `show interfaces` (and of the status page).
pub(crate) struct IfRow {
    pub(crate) name: String,
    pub(crate) index: IfIndex,
    pub(crate) state: &'static str,
    pub(crate) mtu: u16,
    pub(crate) rx_packets: u64,
    pub(crate) rx_bytes: u64,
    pub(crate) tx_packets: u64,
    pub(crate) tx_bytes: u64,
    pub(crate) drops: u64,
}

/// Every interface as it is now, with its device's counters (zeros without a device).
pub(crate) fn if_rows(vnet: &Vnet, devices: &DeviceCounters) -> Vec<IfRow> {
    let ifs = vnet.interfaces();
    ifs.iter()
        .map(|i| {
            let (rx, tx) = match devices.get(i.index) {
                Some(s) => (s.rx_total(), s.tx_total()),
                None => Default::default(),
            };
            IfRow {
                name: i.name.clone(),
                index: i.index,
                state: if i.admin_up { "up" } else { "down" },
                mtu: i.mtu,
                rx_packets: rx.packets,
                rx_bytes: rx.bytes,
                tx_packets: tx.packets,
                tx_bytes: tx.bytes,
                drops: rx.drops + tx.drops,
            }
        })
        .collect()
}

impl Daemon {
    fn if_index(&self, name: &str) -> Result<IfIndex, String> {
        self.vnet
            .interfaces()
            .by_name(name)
            .map(|i| i.index)
            .ok_or_else(|| format!("NAME: no interface {name:?}"))
    }

    fn if_rows(&self) -> Vec<IfRow> {
        if_rows(&self.vnet, &self.devices)
    }

    fn show_interfaces(&self, as_json: bool) -> Response {
        let rows = self.if_rows();
        if as_json {
            let v: Vec<Value> = rows
                .iter()
                .map(|r| {
                    json!({"name": r.name, "index": r.index, "state": r.state, "mtu": r.mtu,
                           "rx_packets": r.rx_packets, "rx_bytes": r.rx_bytes,
                           "tx_packets": r.tx_packets, "tx_bytes": r.tx_bytes, "drops": r.drops})
                })
                .collect();
            return Response::Json {
                value: Value::Array(v),
            };
        }
        let mut t = format!(
            "{:<16}{:>5} {:<6}{:>6}{:>14}{:>16}{:>14}{:>16}{:>10}\n",
            "Name",
            "Idx",
            "State",
            "MTU",
            "Rx packets",
            "Rx bytes",
            "Tx packets",
            "Tx bytes",
            "Drops"
        );
        for r in rows {
            let _ = writeln!(
                t,
                "{:<16}{:>5} {:<6}{:>6}{:>14}{:>16}{:>14}{:>16}{:>10}",
                r.name,
                r.index,
                r.state,
                r.mtu,
                r.rx_packets,
                r.rx_bytes,
                r.tx_packets,
                r.tx_bytes,
                r.drops
            );
        }
        text(t)
    }

    fn show_runtime(&self, as_json: bool) -> Response {
        // Every worker's counters, summed per node (read without stopping them).
        let stats = self.graphs.stats();
        let rows = workers::runtime(&stats);
        if as_json {
            let v: Vec<Value> = rows
                .iter()
                .map(|r| {
                    json!({"node": r.node, "state": r.state, "calls": r.calls, "vectors": r.vectors,
                           "suspends": r.suspends, "clocks": r.clocks,
                           "clocks_per_packet": r.clocks_per_packet(), "vectors_per_call": r.vectors_per_call()})
                })
                .collect();
            return Response::Json {
                value: Value::Array(v),
            };
        }
        let secs = self.start.elapsed().as_secs_f64();
        let summed = if stats.len() > 1 {
            format!(", summed over {} workers", stats.len())
        } else {
            String::new()
        };
        text(format!(
            "Time {secs:.1}, {} Hz TSC{summed}\n{}",
            stats.first().map_or(0, |s| s.tsc_hz()),
            workers::format_runtime(&rows)
        ))
    }

    fn show_errors(&self, as_json: bool) -> Response {
        let rows = workers::errors(&self.graphs.stats());
        if as_json {
            let v: Vec<Value> = rows
                .iter()
                .map(|e| json!({"node": e.node, "name": e.name, "reason": e.reason, "count": e.count}))
                .collect();
            return Response::Json {
                value: Value::Array(v),
            };
        }
        text(workers::format_errors(&rows))
    }

    fn show_fib(&self, as_json: bool) -> Response {
        let routes = self.vnet.ip4_routes();
        let rows = routes
            .iter()
            .map(|r| (r.prefix.to_string(), r.source, &r.dpo));
        self.fib_table(as_json, "ipv4 unicast FIB", 20, rows, |_, _| {})
    }

    fn show_fib6(&self, as_json: bool) -> Response {
        let routes = self.vnet.ip6_routes();
        let rows = routes
            .iter()
            .map(|r| (r.prefix.to_string(), r.source, &r.dpo));
        self.fib_table(as_json, "ipv6 unicast FIB", 44, rows, |ifs, t| {
            t.push_str("link-local addresses:\n");
            for i in ifs.iter() {
                for c in i
                    .ip6
                    .iter()
                    .filter(|c| vnet::ip6::is_link_local(&c.address()))
                {
                    let _ = writeln!(
                        t,
                        "{:<44} {:<10} receive on {}",
                        c.to_string(),
                        "local",
                        i.name
                    );
                }
            }
        })
    }

    /// `show ip fib` / `show ip6 fib`: `rows` (prefix, source, DPO) as JSON, or as a table
    /// under `title` with prefixes `width` wide, followed by what `more` writes.
    fn fib_table<'a>(
        &self,
        as_json: bool,
        title: &str,
        width: usize,
        rows: impl Iterator<Item = (String, RouteSource, &'a Dpo)>,
        more: impl FnOnce(&Interfaces, &mut String),
    ) -> Response {
        let ifs = self.vnet.interfaces();
        let ifname = |i: IfIndex| {
            ifs.get(i)
                .map_or_else(|| format!("#{i}"), |x| x.name.clone())
        };
        let adjs = self.vnet.adjacencies();
        let dpo_text = |d: &Dpo| match d {
            Dpo::Drop => "drop".to_string(),
            Dpo::Unreachable => "unreachable".to_string(),
            Dpo::Receive { if_index } => format!("receive on {}", ifname(*if_index)),
            Dpo::Glean { if_index } => format!("glean (connected) on {}", ifname(*if_index)),
            Dpo::Adjacency(a) => adjs.get(*a).map_or_else(
                || format!("adjacency {a}"),
                |x| format!("via {} {} ({:?})", x.next_hop, ifname(x.tx_if), x.state),
            ),
            Dpo::LoadBalance(v) => format!("load-balance over {} paths", v.len()),
        };
        let source = |s: RouteSource| format!("{s:?}").to_lowercase();
        if as_json {
            let v: Vec<Value> = rows
                .map(|(prefix, s, d)| json!({"prefix": prefix, "source": source(s), "dpo": dpo_text(d)}))
                .collect();
            return Response::Json {
                value: Value::Array(v),
            };
        }
        let mut t = format!("{title}\n");
        for (prefix, s, d) in rows {
            let _ = writeln!(t, "{prefix:<width$} {:<10} {}", source(s), dpo_text(d));
        }
        more(&ifs, &mut t);
        text(t)
    }

    fn show_neighbors(&self, as_json: bool) -> Response {
        let ifs = self.vnet.interfaces();
        let now = self.start.elapsed().as_nanos() as u64;
        let nb = self.vnet.neighbors();
        let mut rows: Vec<_> = nb.iter().cloned().collect();
        rows.sort_by_key(|n| (n.if_index, n.ip));
        if as_json {
            let v: Vec<Value> = rows
                .iter()
                .map(|n| json!({"interface": ifs.get(n.if_index).map(|i| i.name.clone()), "ip": n.ip.to_string(),
                                "mac": n.mac.to_string(), "static": n.is_static,
                                "age_s": (!n.is_static).then(|| now.saturating_sub(n.updated_ns) / 1_000_000_000),
                                "probes": n.probes}))
                .collect();
            return Response::Json {
                value: Value::Array(v),
            };
        }
        let mut t = format!(
            "{:<10}{:<28}{:<20}{:<8}{}\n",
            "Age(s)", "IP", "MAC", "Flags", "Interface"
        );
        for n in rows {
            let age = if n.is_static {
                "-".to_string()
            } else {
                (now.saturating_sub(n.updated_ns) / 1_000_000_000).to_string()
            };
            let _ = writeln!(
                t,
                "{:<10}{:<28}{:<20}{:<8}{}",
                age,
                n.ip.to_string(),
                n.mac.to_string(),
                // S static, D dynamic, P aged and being probed (unanswered so far).
                match (n.is_static, n.probes) {
                    (true, _) => "S",
                    (false, 0) => "D",
                    (false, _) => "DP",
                },
                ifs.get(n.if_index).map_or("?", |i| i.name.as_str())
            );
        }
        text(t)
    }

    fn show_buffers(&self, as_json: bool) -> Response {
        let p = &self.pool;
        let v = json!({"buffers": p.capacity(), "chunk_bytes": buf::CHUNK_SIZE, "data_bytes": buf::DATA_SIZE,
                       "headroom": buf::HEADROOM, "free": p.free_count(), "cached": p.cached_count(),
                       "in_use": p.in_use(), "alloc_failures": p.stats().alloc_failures(),
                       "backing": p.region().backing()});
        if as_json {
            return Response::Json { value: v };
        }
        text(format!(
            "{} buffers of {} bytes ({} data, {} headroom) on {}: {} free, {} cached by threads, {} in use, {} allocation failures\n",
            p.capacity(),
            buf::CHUNK_SIZE,
            buf::DATA_SIZE,
            buf::HEADROOM,
            p.region().backing(),
            p.free_count(),
            p.cached_count(),
            p.in_use(),
            p.stats().alloc_failures()
        ))
    }

    /// Per port: the device's description, totals, and per queue our counters beside the
    /// kernel's own (`tp_drops`, `rx_ring_full`, ...: read now, which also adds what is new
    /// to our `ring full` / `fill empty` / `drops`).
    fn show_hardware(&self, as_json: bool) -> Response {
        let ifs = self.vnet.interfaces();
        let mut t = String::new();
        let mut rows = Vec::new();
        for p in &self.ports {
            let mut link = "Up".to_string();
            let mut kernel = Vec::new();
            if let Some(d) = &p.dev {
                let mut d = d.lock().unwrap_or_else(|e| e.into_inner());
                link = format!("{:?}", d.link_state());
                let queues = d.rx_queues().max(d.tx_queues());
                kernel = (0..queues).map(|q| d.kernel_counters(q)).collect();
            }
            let mac = ifs
                .get(p.if_index)
                .map(|i| i.mac.to_string())
                .unwrap_or_default();
            let _ = writeln!(
                t,
                "{} (index {}): link {link}, ethernet address {mac}\n{}",
                p.name, p.if_index, p.hw
            );
            let mut row = json!({"name": p.name, "index": p.if_index, "driver": format!("{:?}", p.driver),
                                 "description": p.hw, "link": link});
            let Some(s) = &p.stats else {
                rows.push(row);
                continue;
            };
            let (rx, tx) = (s.rx_total(), s.tx_total());
            let _ = writeln!(
                t,
                "  rx {} packets {} bytes, drops {}, oversize {}, fill empty {}\n  tx {} packets {} bytes, drops {}, ring full {}",
                rx.packets, rx.bytes, rx.drops, rx.oversize, rx.fill_empty, tx.packets, tx.bytes, tx.drops, tx.ring_full
            );
            let mut queue_rows = |dir: &str, qs: &[io::device::QueueCounters]| -> Vec<Value> {
                let mut out = Vec::new();
                for (i, q) in qs.iter().enumerate() {
                    let c = q.snapshot();
                    let k = kernel
                        .get(i)
                        .map(|k| if dir == "rx" { &k.rx } else { &k.tx });
                    let _ = write!(
                        t,
                        "  {dir} queue {i}: {} packets, drops {}, oversize {}, ring full {}, fill empty {}",
                        c.packets, c.drops, c.oversize, c.ring_full, c.fill_empty
                    );
                    let mut kj = serde_json::Map::new();
                    if let Some(k) = k.filter(|k| !k.is_empty()) {
                        t.push_str("; kernel");
                        for (n, v) in k {
                            let _ = write!(t, " {n} {v}");
                            kj.insert((*n).to_string(), json!(v));
                        }
                    }
                    t.push('\n');
                    out.push(
                        json!({"queue": i, "packets": c.packets, "bytes": c.bytes, "drops": c.drops,
                                    "oversize": c.oversize, "ring_full": c.ring_full,
                                    "fill_empty": c.fill_empty, "kernel": kj}),
                    );
                }
                out
            };
            let rxq = queue_rows("rx", &s.rx);
            let txq = queue_rows("tx", &s.tx);
            row["rx_queues"] = Value::Array(rxq);
            row["tx_queues"] = Value::Array(txq);
            rows.push(row);
        }
        if as_json {
            Response::Json {
                value: Value::Array(rows),
            }
        } else {
            text(t)
        }
    }

    fn xdp_programs(&self) -> Vec<(String, Arc<Mutex<xdp::XdpProgram>>)> {
        self.ports
            .iter()
            .filter_map(|p| p.xdp.clone().map(|x| (p.name.clone(), x)))
            .collect()
    }

    fn show_xdp(&self, as_json: bool) -> Result<Response, String> {
        let mut t = String::new();
        let mut v = Vec::new();
        for (name, prog) in self.xdp_programs() {
            let g = prog.lock().unwrap_or_else(|e| e.into_inner());
            let mode = g
                .attached()
                .map(|(i, m)| format!("{i} {}", m.as_str()))
                .unwrap_or_else(|| "detached".into());
            let c = g.counters().map_err(|e| format!("{name}: {e}"))?;
            let list = g.blocklist().map_err(|e| format!("{name}: {e}"))?;
            let _ = writeln!(t, "{name}: XDP program on {mode}\n  {c:?}");
            for (p, hits) in &list {
                let _ = writeln!(t, "  block {p}: {hits} packets dropped");
            }
            v.push(json!({"interface": name, "attached": mode, "counters": format!("{c:?}"),
                          "blocklist": list.iter().map(|(p, h)| json!({"prefix": p.to_string(), "hits": h})).collect::<Vec<_>>()}));
        }
        if t.is_empty() {
            t = "no interface runs the XDP program\n".into();
        }
        Ok(if as_json {
            Response::Json {
                value: Value::Array(v),
            }
        } else {
            text(t)
        })
    }

    fn run_command(&mut self, cmd: &Command, as_json: bool) -> Result<Response, String> {
        use Command::*;
        Ok(match cmd {
            ShowVersion => {
                let v = json!({"version": env!("CARGO_PKG_VERSION"), "uptime_s": self.start.elapsed().as_secs(),
                               "cli_socket": self.config.cli_socket.display().to_string(),
                               "metrics": self.metrics_addr.map(|a| a.to_string())});
                if as_json {
                    Response::Json { value: v }
                } else {
                    text(format!(
                        "uplane {}, up {} s\n",
                        env!("CARGO_PKG_VERSION"),
                        self.start.elapsed().as_secs()
                    ))
                }
            }
            ShowInterfaces => self.show_interfaces(as_json),
            ShowRxPlacement => {
                // Thread 0 is the main thread with 0 workers; worker N is thread N + 1.
                let threaded = self.config.workers > 0;
                let thread = |w: usize| if threaded { w + 1 } else { 0 };
                let placed: Vec<(usize, &str, usize)> = self
                    .ports
                    .iter()
                    .flat_map(|p| {
                        p.rx_placement
                            .iter()
                            .map(move |&(w, q)| (thread(w), p.name.as_str(), q))
                    })
                    .collect();
                if as_json {
                    let v: Vec<Value> = placed
                        .iter()
                        .map(|(t, name, q)| json!({"thread": t, "interface": name, "queue": q, "mode": "polling"}))
                        .collect();
                    return Ok(Response::Json {
                        value: Value::Array(v),
                    });
                }
                let mut t = String::new();
                for th in 0..=self.graphs.len() {
                    let here: Vec<_> = placed.iter().filter(|p| p.0 == th).collect();
                    if th == 0 && threaded {
                        continue;
                    }
                    if th == 0 {
                        t.push_str("Thread 0 (main):\n");
                    } else if th <= self.graphs.len() {
                        let _ = writeln!(t, "Thread {th} (uplane-worker-{}):", th - 1);
                    }
                    for (_, name, q) in here {
                        let _ = writeln!(t, "  {name} queue {q} (polling)");
                    }
                }
                text(t)
            }
            ShowHardwareInterfaces => self.show_hardware(as_json),
            ShowRuntime => self.show_runtime(as_json),
            ClearRuntime => {
                self.graphs.stats().iter().for_each(|s| s.clear_runtime());
                text(String::new())
            }
            ShowErrors => self.show_errors(as_json),
            ClearErrors => {
                self.graphs.stats().iter().for_each(|s| s.clear_errors());
                text(String::new())
            }
            ShowIpFib => self.show_fib(as_json),
            ShowIp6Fib => self.show_fib6(as_json),
            ShowNeighbors => self.show_neighbors(as_json),
            ShowBuffers => self.show_buffers(as_json),
            ShowGraph => {
                // Every worker's graph has the same nodes and arcs: show the first.
                let dot = self
                    .graphs
                    .on(0, |g| g.to_dot())
                    .map_err(|e| e.to_string())?;
                if as_json {
                    Response::Json {
                        value: json!({"format": "dot", "dot": dot}),
                    }
                } else {
                    text(dot)
                }
            }
            ShowLog => {
                let lines: Vec<&String> = self.log.iter().collect();
                if as_json {
                    Response::Json {
                        value: json!(lines),
                    }
                } else {
                    text(lines.iter().map(|l| format!("{l}\n")).collect())
                }
            }
            TraceAdd { node, count } => {
                // Every worker traces its next `count` packets at `node`.
                let (node, count) = (node.clone(), *count);
                for r in self
                    .graphs
                    .each(move |g| g.trace_add(&node, count))
                    .map_err(|e| e.to_string())?
                {
                    r.map_err(|e| format!("NODE: {e}"))?;
                }
                text(String::new())
            }
            ShowTrace => {
                let per = self
                    .graphs
                    .each(|g| (g.traced(), g.format_trace()))
                    .map_err(|e| e.to_string())?;
                let packets: usize = per.iter().map(|p| p.0).sum();
                let t: String = if per.len() == 1 {
                    per.into_iter().map(|p| p.1).collect()
                } else {
                    per.into_iter()
                        .enumerate()
                        .map(|(i, (_, t))| format!("------- uplane-worker-{i} -------\n{t}"))
                        .collect()
                };
                if as_json {
                    Response::Json {
                        value: json!({"packets": packets, "text": t}),
                    }
                } else {
                    text(t)
                }
            }
            ClearTrace => {
                self.graphs
                    .each(|g| g.clear_trace())
                    .map_err(|e| e.to_string())?;
                text(String::new())
            }
            PcapTrace {
                rx,
                tx,
                drop,
                max,
                file,
            } => self.pcap_trace(*rx, *tx, *drop, *max, file.as_deref())?,
            PcapTraceOff => self.pcap_trace_off()?,
            SetInterfaceState { name, up } => {
                let i = self.if_index(name)?;
                self.set_state(i, *up).map_err(|e| e.to_string())?;
                text(String::new())
            }
            SetInterfaceMtu { name, bytes } => {
                let i = self.if_index(name)?;
                self.vnet
                    .interfaces_mut()
                    .set_mtu(i, *bytes)
                    .map_err(|e| e.to_string())?;
                let ifs = self.vnet.interfaces();
                self.vnet.adjacencies_mut().refresh_interface(&ifs, i);
                text(String::new())
            }
            SetInterfaceIpAddress { name, prefix, del } => {
                let i = self.if_index(name)?;
                self.set_address(i, cidr(*prefix)?, *del)
                    .map_err(|e| e.to_string())?;
                text(String::new())
            }
            IpRouteAdd {
                prefix,
                via,
                interface,
            } => {
                let p = cidr(*prefix)?;
                self.add_route(
                    p,
                    &RouteTarget::Via {
                        via: *via,
                        interface: interface.clone(),
                    },
                )
                .map_err(|e| format!("{e:#}"))?;
                text(String::new())
            }
            IpRouteDel { prefix } => match cidr(*prefix)? {
                IpCidr::V4(c) => {
                    self.vnet.ip4_remove_route(c).map_err(|e| e.to_string())?;
                    text(String::new())
                }
                IpCidr::V6(c) => {
                    self.vnet.ip6_remove_route(c).map_err(|e| e.to_string())?;
                    text(String::new())
                }
            },
            CreateHostInterface { host_if } => {
                let name = format!("host-{host_if}");
                let i = self
                    .add_interface(&name, Driver::AfPacket, Some(host_if), None, None)
                    .map_err(|e| format!("{e:#}"))?;
                text(format!("{name} (index {i})\n"))
            }
            CreateAfXdp {
                host_if,
                rx_ring,
                tx_ring,
            } => {
                let name = format!("xdp-{host_if}");
                use sys::xsk::XskConfig;
                let rings = (rx_ring.is_some() || tx_ring.is_some()).then(|| {
                    XskConfig::with_rings(
                        rx_ring.unwrap_or(XskConfig::DEFAULT_RX),
                        tx_ring.unwrap_or(XskConfig::DEFAULT_TX),
                    )
                });
                let i = self
                    .add_interface(&name, Driver::AfXdp, Some(host_if), None, rings)
                    .map_err(|e| format!("{e:#}"))?;
                text(format!("{name} (index {i})\n"))
            }
            CreateTap { name } => {
                let n = name
                    .clone()
                    .unwrap_or_else(|| format!("tap{}", self.tap_count));
                let i = self
                    .add_interface(&n, Driver::Tap, Some(&n), None, None)
                    .map_err(|e| format!("{e:#}"))?;
                text(format!("{n} (index {i})\n"))
            }
            DeleteInterface { name } => {
                let i = self.if_index(name)?;
                self.delete_interface(i).map_err(|e| format!("{e:#}"))?;
                text(String::new())
            }
            XdpBlockAdd { prefix } | XdpBlockDel { prefix } => {
                let p: xdp::Prefix = prefix
                    .to_string()
                    .parse()
                    .map_err(|e| format!("PREFIX: {e:?}"))?;
                let progs = self.xdp_programs();
                if progs.is_empty() {
                    return Err(
                        "xdp: no interface runs the XDP program (create an af_xdp interface)"
                            .into(),
                    );
                }
                let add = matches!(cmd, XdpBlockAdd { .. });
                for (name, prog) in progs {
                    let mut g = prog.lock().unwrap_or_else(|e| e.into_inner());
                    if add {
                        g.block_add(p).map_err(|e| format!("{name}: {e}"))?;
                    } else {
                        g.block_del(p).map_err(|e| format!("{name}: {e}"))?;
                    }
                }
                text(String::new())
            }
            ShowXdp => self.show_xdp(as_json)?,
        })
    }
}

impl Handler for Daemon {
    fn handle(&mut self, cmd: &Command, json: bool) -> Response {
        match self.run_command(cmd, json) {
            Ok(r) => {
                if !cmd.is_show() {
                    self.logf(format!("cli: {cmd:?}"));
                }
                r
            }
            Err(e) => Response::Error {
                message: e,
                usage: Some(cmd.usage().to_string()),
            },
        }
    }
}

/// The Prometheus exposition text.
pub fn prometheus(d: &Daemon) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# TYPE uplane_uptime_seconds gauge\nuplane_uptime_seconds {}",
        d.start.elapsed().as_secs_f64()
    );
    for (name, help) in [
        ("rx_packets", "packets received"),
        ("rx_bytes", "bytes received"),
        ("tx_packets", "packets sent"),
        ("tx_bytes", "bytes sent"),
        ("drops", "packets dropped by the device"),
    ] {
        let _ = writeln!(t, "# HELP uplane_interface_{name}_total Interface {help}.\n# TYPE uplane_interface_{name}_total counter");
        for r in d.if_rows() {
            let v = match name {
                "rx_packets" => r.rx_packets,
                "rx_bytes" => r.rx_bytes,
                "tx_packets" => r.tx_packets,
                "tx_bytes" => r.tx_bytes,
                _ => r.drops,
            };
            let _ = writeln!(
                t,
                "uplane_interface_{name}_total{{interface=\"{}\"}} {v}",
                r.name
            );
        }
    }
    let stats = d.graphs.stats();
    let rt = workers::runtime(&stats);
    let _ = writeln!(t, "# TYPE uplane_node_calls_total counter");
    for r in &rt {
        let _ = writeln!(
            t,
            "uplane_node_calls_total{{node=\"{}\"}} {}",
            r.node, r.calls
        );
    }
    let _ = writeln!(t, "# TYPE uplane_node_vectors_total counter");
    for r in &rt {
        let _ = writeln!(
            t,
            "uplane_node_vectors_total{{node=\"{}\"}} {}",
            r.node, r.vectors
        );
    }
    let _ = writeln!(t, "# TYPE uplane_node_clocks_total counter");
    for r in &rt {
        let _ = writeln!(
            t,
            "uplane_node_clocks_total{{node=\"{}\"}} {}",
            r.node, r.clocks
        );
    }
    let _ = writeln!(t, "# TYPE uplane_errors_total counter");
    for e in workers::errors(&stats) {
        let _ = writeln!(
            t,
            "uplane_errors_total{{node=\"{}\",error=\"{}\"}} {}",
            e.node, e.name, e.count
        );
    }
    let p = &d.pool;
    let _ = writeln!(
        t,
        "# TYPE uplane_buffers gauge\nuplane_buffers{{state=\"free\"}} {}\nuplane_buffers{{state=\"cached\"}} {}\nuplane_buffers{{state=\"in_use\"}} {}",
        p.free_count(),
        p.cached_count(),
        p.in_use()
    );
    let _ = writeln!(
        t,
        "# TYPE uplane_buffer_alloc_failures_total counter\nuplane_buffer_alloc_failures_total {}",
        p.stats().alloc_failures()
    );
    t
}
