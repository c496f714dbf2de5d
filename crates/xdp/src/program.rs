//! Loading, attaching and driving `bpf/uplane.bpf.c`.

use crate::prefix::Prefix;
use aya::maps::lpm_trie::{Key, LpmTrie};
use aya::maps::{Array, MapData, MapError, PerCpuArray, XskMap};
use aya::programs::{ProgramError, TestRun, TestRunOptions, Xdp, XdpMode};
use aya::Ebpf;
use std::fmt;
use std::net::IpAddr;
use std::os::fd::BorrowedFd;

/// The compiled program (`build.rs` runs clang on `bpf/uplane.bpf.c`).
static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/uplane.bpf.o"));

/// The program's function name in the object.
const PROGRAM: &str = "uplane_xdp";
/// `config[0]` bit: ARP and non-IP go to the kernel (see [`Policy`]).
const PASS_NON_IP: u32 = 1;
/// Entries of the `counters` map (see `enum uplane_counter` in the C file).
const COUNTERS: u32 = 8;

/// What went wrong loading, attaching or using the program. Each variant says which step.
#[derive(Debug, thiserror::Error)]
pub enum XdpError {
    /// The object could not be parsed or its maps created.
    #[error("loading the XDP object: {0}")]
    Object(#[source] Box<aya::EbpfError>),
    /// The kernel refused the program; `log` is the verifier's output.
    #[error("the verifier rejected {PROGRAM}: {source}\n{log}")]
    Verifier {
        /// The error `BPF_PROG_LOAD` returned.
        source: std::io::Error,
        /// The verifier log.
        log: String,
    },
    /// Another program step failed (load, test run, detach).
    #[error("{what}: {source}")]
    Program {
        /// The step.
        what: &'static str,
        /// aya's error.
        source: Box<ProgramError>,
    },
    /// Neither native nor generic attach worked.
    #[error("attaching to {ifname}: native: {native}; generic: {generic}")]
    Attach {
        /// The interface.
        ifname: String,
        /// Why native (driver) mode failed.
        native: String,
        /// Why generic (SKB) mode failed.
        generic: Box<ProgramError>,
    },
    /// A map operation failed; `what` names it.
    #[error("{what}: {source}")]
    Map {
        /// The operation (`block add 10.0.0.0/8`, `register xsk queue 0`, ...).
        what: String,
        /// aya's error.
        source: Box<MapError>,
    },
    /// The object lacks a map or program the loader expects (a build mismatch).
    #[error("the XDP object has no {0}")]
    Missing(&'static str),
}

fn map_err(what: impl Into<String>) -> impl FnOnce(MapError) -> XdpError {
    let what = what.into();
    move |source| XdpError::Map {
        what,
        source: Box::new(source),
    }
}

fn prog_err(what: &'static str) -> impl FnOnce(ProgramError) -> XdpError {
    move |e| match e {
        ProgramError::LoadError {
            io_error,
            verifier_log,
        } => XdpError::Verifier {
            source: io_error,
            log: verifier_log.to_string(),
        },
        e => XdpError::Program {
            what,
            source: Box::new(e),
        },
    }
}

/// Where the program runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachMode {
    /// In the driver, before an skb exists (`XDP_FLAGS_DRV_MODE`).
    Native,
    /// In the stack after the skb is built (`XDP_FLAGS_SKB_MODE`): works on any interface,
    /// slower, and AF_XDP is copy mode only.
    Generic,
}

impl AttachMode {
    /// `native` or `generic`, for `show hardware-interfaces`.
    pub fn as_str(self) -> &'static str {
        match self {
            AttachMode::Native => "native",
            AttachMode::Generic => "generic",
        }
    }
}

impl fmt::Display for AttachMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which frames go to uplane (the rest go to the kernel). Block-listed sources and frames
/// that cannot be parsed are dropped under either policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// Every frame goes to uplane: what a router that owns the interface wants (default).
    #[default]
    RedirectAll,
    /// IPv4 and IPv6 go to uplane; ARP and other ethertypes go to the kernel.
    PassNonIp,
}

/// The program's counters, summed over CPUs (packets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct XdpCounters {
    /// Handed to the kernel by policy (`XDP_PASS`).
    pub pass: u64,
    /// Redirected to uplane's AF_XDP socket.
    pub redirect: u64,
    /// Dropped: IPv4 source in the block list.
    pub drop_blocklist_v4: u64,
    /// Dropped: IPv6 source in the block list.
    pub drop_blocklist_v6: u64,
    /// Dropped: headers cut short or more than two VLAN tags (the block list could not be
    /// checked).
    pub drop_parse_error: u64,
    /// Meant for uplane but no socket is registered on the rx queue: passed to the kernel.
    pub pass_no_socket: u64,
}

impl XdpCounters {
    /// Every drop.
    pub fn drops(&self) -> u64 {
        self.drop_blocklist_v4 + self.drop_blocklist_v6 + self.drop_parse_error
    }
}

/// What the program returned for a frame ([`XdpProgram::test_run`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// `XDP_ABORTED` (a program bug; never expected).
    Aborted,
    /// `XDP_DROP`.
    Drop,
    /// `XDP_PASS`: to the kernel stack.
    Pass,
    /// `XDP_TX`.
    Tx,
    /// `XDP_REDIRECT`: to an AF_XDP socket.
    Redirect,
    /// Anything else.
    Other(u32),
}

impl From<u32> for Verdict {
    fn from(v: u32) -> Verdict {
        match v {
            0 => Verdict::Aborted,
            1 => Verdict::Drop,
            2 => Verdict::Pass,
            3 => Verdict::Tx,
            4 => Verdict::Redirect,
            v => Verdict::Other(v),
        }
    }
}

/// uplane's XDP program, loaded into the kernel and (once [`XdpProgram::attach`]ed) running
/// on one interface.
///
/// **Detach.** Attaching uses a BPF link (`BPF_LINK_CREATE`) where the kernel has them
/// (5.9+): the program stays attached exactly as long as the link's descriptor is open.
/// Dropping the `XdpProgram` closes it and the interface is clean; so does the process
/// dying in any way (crash, `kill -9`), since the kernel closes the descriptor — a restart
/// finds no stale program to replace. On older kernels aya falls back to netlink attach,
/// which `Drop` undoes but a crash does not (then `ip link set dev IF xdp off`).
/// An interface that already has a program attached by netlink (another tool) makes
/// attach fail with `EBUSY`, rather than silently replacing somebody else's program.
pub struct XdpProgram {
    ebpf: Ebpf,
    attached: Option<(String, AttachMode)>,
    xsks: XskMap<MapData>,
    block_v4: LpmTrie<MapData, [u8; 4], u64>,
    block_v6: LpmTrie<MapData, [u8; 16], u64>,
    counters: PerCpuArray<MapData, u64>,
    config: Array<MapData, u32>,
}

impl fmt::Debug for XdpProgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XdpProgram")
            .field("attached", &self.attached)
            .finish_non_exhaustive()
    }
}

impl XdpProgram {
    /// Loads the program and creates its maps (empty block lists, [`Policy::RedirectAll`])
    /// without attaching it anywhere: for [`Self::test_run`], or attach later.
    pub fn load() -> Result<XdpProgram, XdpError> {
        let mut ebpf = Ebpf::load(OBJECT).map_err(|e| XdpError::Object(Box::new(e)))?;
        let prog: &mut Xdp = ebpf
            .program_mut(PROGRAM)
            .ok_or(XdpError::Missing("program uplane_xdp"))?
            .try_into()
            .map_err(prog_err("program type"))?;
        prog.load().map_err(prog_err("load"))?;
        let mut take = |name: &'static str| ebpf.take_map(name).ok_or(XdpError::Missing(name));
        let xsks = XskMap::try_from(take("xsks")?).map_err(map_err("map xsks"))?;
        let block_v4 = LpmTrie::try_from(take("block_v4")?).map_err(map_err("map block_v4"))?;
        let block_v6 = LpmTrie::try_from(take("block_v6")?).map_err(map_err("map block_v6"))?;
        let counters = PerCpuArray::try_from(take("counters")?).map_err(map_err("map counters"))?;
        let config = Array::try_from(take("config")?).map_err(map_err("map config"))?;
        Ok(XdpProgram {
            ebpf,
            attached: None,
            xsks,
            block_v4,
            block_v6,
            counters,
            config,
        })
    }

    /// Loads the program and attaches it to `ifname` (in the calling thread's network
    /// namespace), in native mode if the driver has it, else generic.
    pub fn attach(ifname: &str) -> Result<XdpProgram, XdpError> {
        let mut p = XdpProgram::load()?;
        p.attach_to(ifname)?;
        Ok(p)
    }

    /// Attaches a loaded program to `ifname`: native mode, falling back to generic.
    pub fn attach_to(&mut self, ifname: &str) -> Result<AttachMode, XdpError> {
        if self.attached.is_some() {
            return Err(prog_err("attach")(ProgramError::AlreadyAttached));
        }
        let prog = self.xdp_mut()?;
        let mode = match prog.attach(ifname, XdpMode::Driver) {
            Ok(_) => AttachMode::Native,
            Err(native) => match prog.attach(ifname, XdpMode::Skb) {
                Ok(_) => AttachMode::Generic,
                Err(generic) => {
                    return Err(XdpError::Attach {
                        ifname: ifname.to_string(),
                        native: native.to_string(),
                        generic: Box::new(generic),
                    })
                }
            },
        };
        self.attached = Some((ifname.to_string(), mode));
        Ok(mode)
    }

    fn xdp_mut(&mut self) -> Result<&mut Xdp, XdpError> {
        self.ebpf
            .program_mut(PROGRAM)
            .ok_or(XdpError::Missing("program uplane_xdp"))?
            .try_into()
            .map_err(prog_err("program type"))
    }

    /// The interface and mode, once attached.
    pub fn attached(&self) -> Option<(&str, AttachMode)> {
        self.attached.as_ref().map(|(i, m)| (i.as_str(), *m))
    }

    /// Sets which frames go to uplane.
    pub fn set_policy(&mut self, policy: Policy) -> Result<(), XdpError> {
        let v = match policy {
            Policy::RedirectAll => 0,
            Policy::PassNonIp => PASS_NON_IP,
        };
        self.config.set(0, v, 0).map_err(map_err("set policy"))
    }

    /// Sends rx queue `queue`'s traffic to the AF_XDP socket `fd` (bound to that queue).
    pub fn register_xsk(&mut self, queue: u32, fd: BorrowedFd<'_>) -> Result<(), XdpError> {
        self.xsks
            .set(queue, fd, 0)
            .map_err(map_err(format!("register xsk queue {queue}")))
    }

    /// Stops redirecting `queue` (its frames then go to the kernel, counted
    /// `pass_no_socket`).
    pub fn unregister_xsk(&mut self, queue: u32) -> Result<(), XdpError> {
        self.xsks
            .unset(queue)
            .map_err(map_err(format!("unregister xsk queue {queue}")))
    }

    /// Drops every frame whose source lies in `prefix` (its hit count starts at 0; adding
    /// an existing prefix keeps its count).
    pub fn block_add(&mut self, prefix: Prefix) -> Result<(), XdpError> {
        let what = format!("block add {prefix}");
        let len = u32::from(prefix.prefix_len());
        match prefix.addr() {
            IpAddr::V4(a) => {
                let k = Key::new(len, a.octets());
                if self.block_v4.get(&k, 0).is_err() {
                    self.block_v4.insert(&k, 0, 0).map_err(map_err(what))?;
                }
            }
            IpAddr::V6(a) => {
                let k = Key::new(len, a.octets());
                if self.block_v6.get(&k, 0).is_err() {
                    self.block_v6.insert(&k, 0, 0).map_err(map_err(what))?;
                }
            }
        }
        Ok(())
    }

    /// Removes `prefix` from the block list; false if it was not there.
    pub fn block_del(&mut self, prefix: Prefix) -> Result<bool, XdpError> {
        let len = u32::from(prefix.prefix_len());
        let r = match prefix.addr() {
            IpAddr::V4(a) => self.block_v4.remove(&Key::new(len, a.octets())),
            IpAddr::V6(a) => self.block_v6.remove(&Key::new(len, a.octets())),
        };
        match r {
            Ok(()) => Ok(true),
            Err(MapError::KeyNotFound) => Ok(false),
            Err(MapError::SyscallError(e)) if e.io_error.raw_os_error() == Some(libc::ENOENT) => {
                Ok(false)
            }
            Err(e) => Err(map_err(format!("block del {prefix}"))(e)),
        }
    }

    /// The block list with each prefix's hit count (frames dropped for it), sorted.
    pub fn blocklist(&self) -> Result<Vec<(Prefix, u64)>, XdpError> {
        let mut out = Vec::new();
        for e in self.block_v4.iter() {
            let (k, hits) = e.map_err(map_err("read block_v4"))?;
            let len = u8::try_from(k.prefix_len()).unwrap_or(u8::MAX);
            if let Some(p) = Prefix::new(IpAddr::from(k.data()), len) {
                out.push((p, hits));
            }
        }
        for e in self.block_v6.iter() {
            let (k, hits) = e.map_err(map_err("read block_v6"))?;
            let len = u8::try_from(k.prefix_len()).unwrap_or(u8::MAX);
            if let Some(p) = Prefix::new(IpAddr::from(k.data()), len) {
                out.push((p, hits));
            }
        }
        out.sort();
        Ok(out)
    }

    /// The counters, summed over CPUs.
    pub fn counters(&self) -> Result<XdpCounters, XdpError> {
        let mut v = [0u64; COUNTERS as usize];
        for (i, slot) in (0..COUNTERS).zip(v.iter_mut()) {
            let per_cpu = self.counters.get(&i, 0).map_err(map_err("read counters"))?;
            *slot = per_cpu.iter().copied().fold(0u64, u64::wrapping_add);
        }
        Ok(XdpCounters {
            pass: v[0],
            redirect: v[1],
            drop_blocklist_v4: v[2],
            drop_blocklist_v6: v[3],
            drop_parse_error: v[4],
            pass_no_socket: v[5],
        })
    }

    /// Runs the program once on `frame` with `BPF_PROG_TEST_RUN` (rx queue 0, no device:
    /// a redirect finds no socket unless one is registered for queue 0) and returns its
    /// verdict. Counters and hit counts move as for a real frame.
    pub fn test_run(&self, frame: &[u8]) -> Result<Verdict, XdpError> {
        let prog: &Xdp = self
            .ebpf
            .program(PROGRAM)
            .ok_or(XdpError::Missing("program uplane_xdp"))?
            .try_into()
            .map_err(prog_err("program type"))?;
        let opts = TestRunOptions {
            data_in: Some(frame),
            ..TestRunOptions::default()
        };
        let r = prog.test_run(opts).map_err(prog_err("BPF_PROG_TEST_RUN"))?;
        Ok(Verdict::from(r.return_value))
    }
}
