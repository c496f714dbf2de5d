//! A network-namespace lab for tests against the real Linux kernel.
//!
//! A [`Lab`] creates namespaces with unique names (`up<pid>x<counter>-<name>`, so parallel
//! tests and CI jobs never collide), veth pairs between them, addresses, routes and sysctls,
//! runs commands inside them (`ip netns exec`), and runs closures with the calling thread
//! moved into one ([`Lab::in_netns`], for opening sockets or TAPs there). Dropping the lab
//! deletes every namespace it created, and with them every interface inside, also when the
//! test fails or panics. Nothing is ever created in, or sent to, the root namespace.
//!
//! Tests that need root start with [`require_root!`], which prints
//! `skipped: needs root` and returns when the process is not root.
//!
//! Also here, for tests and benchmarks of any crate: [`rng`], the one deterministic
//! generator they draw random prefixes, keys and addresses from.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// What went wrong building or using a lab.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// A command could not be started (missing binary) or failed.
    #[error("`{cmd}` failed: {detail}")]
    Command {
        /// The command line.
        cmd: String,
        /// Its stderr, or why it could not start.
        detail: String,
    },
    /// A namespace name was asked for that this lab did not create.
    #[error("namespace {0:?} is not part of this lab")]
    UnknownNamespace(String),
    /// Moving a thread into a namespace failed.
    #[error("entering namespace {ns}: {source}")]
    Enter {
        /// The namespace.
        ns: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// True if the process runs as root (effective uid 0, read from `/proc/self/status`).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// Returns from the enclosing test with `skipped: needs root` unless the process is root.
#[macro_export]
macro_rules! require_root {
    () => {
        if !$crate::is_root() {
            eprintln!("skipped: needs root");
            return;
        }
    };
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A set of namespaces owned by one test; see the crate documentation.
#[derive(Debug)]
pub struct Lab {
    prefix: String,
    namespaces: Vec<(String, String)>,
}

fn run(cmd: &mut Command) -> Result<Output, LabError> {
    let line = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| LabError::Command {
        cmd: line.clone(),
        detail: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(LabError::Command {
            cmd: line,
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(out)
}

impl Lab {
    /// An empty lab with a process-unique prefix.
    pub fn new() -> Lab {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        Lab {
            prefix: format!("up{}x{}", std::process::id(), n),
            namespaces: Vec::new(),
        }
    }

    /// An empty lab whose namespaces are called `PREFIX-NAME` (a fixed prefix, for the
    /// demo, where people type the names; tests use [`Lab::new`]).
    pub fn with_prefix(prefix: &str) -> Lab {
        Lab {
            prefix: prefix.to_string(),
            namespaces: Vec::new(),
        }
    }

    /// Creates namespace `name` (the real name is returned; use `name` in the other calls)
    /// with its loopback up.
    pub fn netns(&mut self, name: &str) -> Result<String, LabError> {
        let full = format!("{}-{}", self.prefix, name);
        run(Command::new("ip").args(["netns", "add", &full]))?;
        self.namespaces.push((name.to_string(), full.clone()));
        run(Command::new("ip").args(["-n", &full, "link", "set", "lo", "up"]))?;
        Ok(full)
    }

    /// The real name of the lab's namespace `name`.
    pub fn ns(&self, name: &str) -> Result<&str, LabError> {
        self.namespaces
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, f)| f.as_str())
            .ok_or_else(|| LabError::UnknownNamespace(name.to_string()))
    }

    /// Runs `ip -n NS args...` and returns its stdout.
    pub fn ip(&self, ns: &str, args: &[&str]) -> Result<String, LabError> {
        let full = self.ns(ns)?.to_string();
        let out = run(Command::new("ip").arg("-n").arg(&full).args(args))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// A veth pair: `a_if` in namespace `a`, `b_if` in namespace `b`, both up.
    pub fn veth(&self, a: &str, a_if: &str, b: &str, b_if: &str) -> Result<(), LabError> {
        let nb = self.ns(b)?.to_string();
        self.ip(
            a,
            &[
                "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", &nb,
            ],
        )?;
        self.ip(a, &["link", "set", a_if, "up"])?;
        self.ip(b, &["link", "set", b_if, "up"])?;
        Ok(())
    }

    /// Adds address `cidr` (e.g. `10.0.0.1/24`) to `dev` in `ns`.
    pub fn addr(&self, ns: &str, dev: &str, cidr: &str) -> Result<(), LabError> {
        self.ip(ns, &["addr", "add", cidr, "dev", dev]).map(drop)
    }

    /// Sets `dev` up in `ns`.
    pub fn up(&self, ns: &str, dev: &str) -> Result<(), LabError> {
        self.ip(ns, &["link", "set", dev, "up"]).map(drop)
    }

    /// Adds a route `prefix via gw` in `ns`.
    pub fn route(&self, ns: &str, prefix: &str, gw: &str) -> Result<(), LabError> {
        self.ip(ns, &["route", "add", prefix, "via", gw]).map(drop)
    }

    /// Sets a sysctl (`net.ipv4.ip_forward`, `0`) in `ns`.
    pub fn sysctl(&self, ns: &str, key: &str, value: &str) -> Result<(), LabError> {
        self.exec(ns, &["sysctl", "-qw", &format!("{key}={value}")])
            .map(drop)
    }

    /// Turns off checksum and segmentation offloads of `dev` in `ns` (`ethtool -K`).
    pub fn offloads_off(&self, ns: &str, dev: &str) -> Result<(), LabError> {
        self.exec(
            ns,
            &[
                "ethtool", "-K", dev, "tx", "off", "tso", "off", "gso", "off", "gro", "off",
            ],
        )
        .map(drop)
    }

    /// The bench and test shape of a userland stack facing the kernel: namespaces `ns` and
    /// `peer`, a veth `dev`–`peer_dev` between them with offloads off at both ends (so the
    /// kernel sends whole, checksummed frames and takes ours as they are), and `peer_cidr`
    /// on the kernel's end. `dev` gets no address: the stack owns it.
    pub fn veth_to_kernel(
        &mut self,
        ns: &str,
        dev: &str,
        peer: &str,
        peer_dev: &str,
        peer_cidr: &str,
    ) -> Result<(), LabError> {
        self.netns(ns)?;
        self.netns(peer)?;
        self.veth(ns, dev, peer, peer_dev)?;
        self.offloads_off(ns, dev)?;
        self.offloads_off(peer, peer_dev)?;
        self.addr(peer, peer_dev, peer_cidr)
    }

    /// Runs `args` inside `ns`; fails unless it exits 0. Returns its output.
    pub fn exec(&self, ns: &str, args: &[&str]) -> Result<Output, LabError> {
        let full = self.ns(ns)?.to_string();
        run(Command::new("ip").args(["netns", "exec", &full]).args(args))
    }

    /// Runs `args` inside `ns` and returns the output whatever the exit status.
    pub fn exec_status(&self, ns: &str, args: &[&str]) -> Result<Output, LabError> {
        let full = self.ns(ns)?.to_string();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &full]).args(args);
        cmd.output().map_err(|e| LabError::Command {
            cmd: format!("{cmd:?}"),
            detail: e.to_string(),
        })
    }

    /// Runs `f` on a new thread that has moved into `ns` (`setns`), and returns its result.
    /// Sockets and TAPs created there stay in `ns` after the thread ends.
    pub fn in_netns<T: Send>(&self, ns: &str, f: impl FnOnce() -> T + Send) -> Result<T, LabError> {
        let full = self.ns(ns)?.to_string();
        let path = PathBuf::from("/var/run/netns").join(&full);
        std::thread::scope(|s| {
            s.spawn(|| {
                sys::netns::enter(&path).map_err(|source| LabError::Enter {
                    ns: full.clone(),
                    source,
                })?;
                Ok(f())
            })
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    }

    /// Names of the namespaces this lab created, real names.
    pub fn namespaces(&self) -> impl Iterator<Item = &str> {
        self.namespaces.iter().map(|(_, f)| f.as_str())
    }
}

impl Default for Lab {
    fn default() -> Self {
        Lab::new()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, full) in self.namespaces.drain(..).rev() {
            let ok = Command::new("ip")
                .args(["netns", "del", &full])
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            if !ok {
                eprintln!("testkit: could not delete namespace {full}");
            }
        }
    }
}

/// Namespaces whose names this process's labs would use (for leak checks in tests).
pub fn leftover_namespaces() -> Vec<String> {
    let mine = format!("up{}x", std::process::id());
    Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter_map(|l| l.split_whitespace().next())
                .filter(|n| n.starts_with(&mine))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// A deterministic pseudo-random generator (xorshift64*, Vigna): the same `seed` gives the
/// same sequence on every machine, so a failing randomized test or a benchmark's traffic
/// can be reproduced. Not for anything that needs unpredictability.
pub fn rng(seed: u64) -> impl FnMut() -> u64 {
    let mut s = seed;
    move || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        s.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_cleaned_up() {
        require_root!();
        let name;
        {
            let mut lab = Lab::new();
            name = lab.netns("a").unwrap();
            lab.netns("b").unwrap();
            lab.veth("a", "va", "b", "vb").unwrap();
            lab.addr("a", "va", "10.9.0.1/24").unwrap();
            lab.addr("b", "vb", "10.9.0.2/24").unwrap();
            lab.sysctl("a", "net.ipv4.ip_forward", "0").unwrap();
            let out = lab.exec("a", &["ip", "-o", "addr", "show", "va"]).unwrap();
            assert!(String::from_utf8_lossy(&out.stdout).contains("10.9.0.1"));
            let idx = lab
                .in_netns("b", || {
                    let s = sys::netdev::control_socket().unwrap();
                    sys::netdev::index(
                        std::os::fd::AsFd::as_fd(&s),
                        &sys::netdev::IfName::new("vb").unwrap(),
                    )
                })
                .unwrap();
            assert!(idx.is_ok());
            let other = Lab::new();
            assert_ne!(other.prefix, lab.prefix);
        }
        assert!(!leftover_namespaces().contains(&name));
    }

    #[test]
    fn cleaned_up_on_panic() {
        require_root!();
        let r = std::panic::catch_unwind(|| {
            let mut lab = Lab::new();
            let n = lab.netns("p").unwrap();
            panic!("{n}");
        });
        let name = *r.unwrap_err().downcast::<String>().unwrap();
        assert!(!leftover_namespaces().contains(&name));
    }
}
