//! The command grammar: VPP's words, parsed into a typed [`Command`].

use core::net::IpAddr;
use std::fmt;

/// Every command's usage, one line each: the words to type, `<ARG>`s, `[optional]` parts
/// and `a|b` choices. The parser and the nearest-command hint both use this table.
pub const COMMANDS: &[&str] = &[
    "show version",
    "show interfaces [rx-placement]",
    "show hardware-interfaces",
    "show runtime",
    "clear runtime",
    "show errors",
    "clear errors",
    "show ip fib",
    "show ip6 fib",
    "show ip neighbors",
    "show buffers",
    "show graph",
    "show log",
    "trace add <NODE> <COUNT>",
    "show trace",
    "clear trace",
    "pcap trace [rx] [tx] [drop] [max <N>] [file <PATH>]",
    "pcap trace off",
    "set interface state <NAME> up|down",
    "set interface mtu <NAME> <BYTES>",
    "set interface ip address <NAME> <PREFIX> [del]",
    "ip route add <PREFIX> via <ADDR> [<NAME>]",
    "ip route del <PREFIX>",
    "create host-interface name <HOSTIF>",
    "create interface af_xdp host-if <HOSTIF> [rx-ring-size <N>] [tx-ring-size <N>]",
    "create tap [name <NAME>]",
    "delete interface <NAME>",
    "xdp block add <PREFIX>",
    "xdp block del <PREFIX>",
    "show xdp",
];

/// An IP prefix as typed (`10.8.0.0/16`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    /// The address.
    pub addr: IpAddr,
    /// The prefix length.
    pub len: u8,
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Command {
    ShowVersion,
    ShowInterfaces,
    ShowRxPlacement,
    ShowHardwareInterfaces,
    ShowRuntime,
    ClearRuntime,
    ShowErrors,
    ClearErrors,
    ShowIpFib,
    ShowIp6Fib,
    ShowNeighbors,
    ShowBuffers,
    ShowGraph,
    ShowLog,
    TraceAdd {
        node: String,
        count: u32,
    },
    ShowTrace,
    ClearTrace,
    PcapTrace {
        rx: bool,
        tx: bool,
        drop: bool,
        max: Option<u32>,
        file: Option<String>,
    },
    PcapTraceOff,
    SetInterfaceState {
        name: String,
        up: bool,
    },
    SetInterfaceMtu {
        name: String,
        bytes: u32,
    },
    SetInterfaceIpAddress {
        name: String,
        prefix: Prefix,
        del: bool,
    },
    IpRouteAdd {
        prefix: Prefix,
        via: IpAddr,
        interface: Option<String>,
    },
    IpRouteDel {
        prefix: Prefix,
    },
    CreateHostInterface {
        host_if: String,
    },
    CreateAfXdp {
        host_if: String,
        /// Rx ring descriptors (the fill ring gets twice as many); the default if `None`.
        rx_ring: Option<u32>,
        /// Tx ring descriptors (the completion ring gets twice as many).
        tx_ring: Option<u32>,
    },
    CreateTap {
        name: Option<String>,
    },
    DeleteInterface {
        name: String,
    },
    XdpBlockAdd {
        prefix: Prefix,
    },
    XdpBlockDel {
        prefix: Prefix,
    },
    ShowXdp,
}

impl Command {
    /// True for commands that only read state (`show ...`).
    pub fn is_show(&self) -> bool {
        matches!(
            self,
            Command::ShowVersion
                | Command::ShowInterfaces
                | Command::ShowRxPlacement
                | Command::ShowHardwareInterfaces
                | Command::ShowRuntime
                | Command::ShowErrors
                | Command::ShowIpFib
                | Command::ShowIp6Fib
                | Command::ShowNeighbors
                | Command::ShowBuffers
                | Command::ShowGraph
                | Command::ShowLog
                | Command::ShowTrace
                | Command::ShowXdp
        )
    }
}

impl Command {
    /// The usage line of this command (from [`COMMANDS`]), shown with an error the daemon
    /// returns when it refuses the command's arguments (no such interface, ...).
    pub fn usage(&self) -> &'static str {
        use Command::*;
        usage_of(match self {
            ShowVersion => "show version",
            ShowInterfaces | ShowRxPlacement => "show interfaces",
            ShowHardwareInterfaces => "show hardware-interfaces",
            ShowRuntime => "show runtime",
            ClearRuntime => "clear runtime",
            ShowErrors => "show errors",
            ClearErrors => "clear errors",
            ShowIpFib => "show ip fib",
            ShowIp6Fib => "show ip6 fib",
            ShowNeighbors => "show ip neighbors",
            ShowBuffers => "show buffers",
            ShowGraph => "show graph",
            ShowLog => "show log",
            TraceAdd { .. } => "trace add",
            ShowTrace => "show trace",
            ClearTrace => "clear trace",
            PcapTrace { .. } => "pcap trace [",
            PcapTraceOff => "pcap trace off",
            SetInterfaceState { .. } => "set interface state",
            SetInterfaceMtu { .. } => "set interface mtu",
            SetInterfaceIpAddress { .. } => "set interface ip address",
            IpRouteAdd { .. } => "ip route add",
            IpRouteDel { .. } => "ip route del",
            CreateHostInterface { .. } => "create host-interface",
            CreateAfXdp { .. } => "create interface af_xdp",
            CreateTap { .. } => "create tap",
            DeleteInterface { .. } => "delete interface",
            XdpBlockAdd { .. } => "xdp block add",
            XdpBlockDel { .. } => "xdp block del",
            ShowXdp => "show xdp",
        })
    }
}

/// Why a line is not a command: one line of explanation and the usage of the nearest
/// command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// What is wrong.
    pub message: String,
    /// The usage line of the command the words are closest to.
    pub usage: String,
}

/// The literal words a usage line starts with (up to its first argument or option).
fn lead(usage: &str) -> Vec<&str> {
    usage
        .split(' ')
        .take_while(|w| !w.starts_with(['<', '[']) && !w.contains('|'))
        .collect()
}

/// The usage of the command whose leading words best match `words`: most leading words in
/// common, then the smallest edit distance on the first differing word.
pub fn nearest(words: &[&str]) -> &'static str {
    let score = |u: &str| {
        let l = lead(u);
        let common = l.iter().zip(words).take_while(|(a, b)| a == b).count();
        let next = match (l.get(common), words.get(common)) {
            (Some(a), Some(b)) => edit_distance(a, b),
            _ => 0,
        };
        (common, usize::MAX - next)
    };
    COMMANDS
        .iter()
        .copied()
        .max_by_key(|u| score(u))
        .unwrap_or(COMMANDS[0])
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

fn usage_of(prefix: &str) -> &'static str {
    COMMANDS
        .iter()
        .copied()
        .find(|u| u.starts_with(prefix))
        .unwrap_or(COMMANDS[0])
}

fn bad(usage_prefix: &str, message: String) -> ParseError {
    ParseError {
        message,
        usage: usage_of(usage_prefix).to_string(),
    }
}

fn number(
    s: &str,
    what: &str,
    usage: &str,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, ParseError> {
    match s.parse::<u32>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(bad(
            usage,
            format!(
                "{what}: {s:?} is not a number in {}..={}",
                range.start(),
                range.end()
            ),
        )),
    }
}

fn prefix(s: &str, usage: &str) -> Result<Prefix, ParseError> {
    let err = || {
        bad(
            usage,
            format!("PREFIX: {s:?} is not an IP prefix (expected like 10.8.0.0/16 or fd00::/8)"),
        )
    };
    let (a, l) = s.split_once('/').ok_or_else(err)?;
    let addr: IpAddr = a.parse().map_err(|_| err())?;
    let len: u8 = l.parse().map_err(|_| err())?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if len > max {
        return Err(err());
    }
    Ok(Prefix { addr, len })
}

fn addr(s: &str, usage: &str) -> Result<IpAddr, ParseError> {
    s.parse()
        .map_err(|_| bad(usage, format!("ADDR: {s:?} is not an IP address")))
}

fn name(s: &str, what: &str, usage: &str) -> Result<String, ParseError> {
    if s.is_empty()
        || s.len() > 32
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(bad(usage, format!("{what}: {s:?} is not a valid name")));
    }
    Ok(s.to_string())
}

/// `create interface af_xdp host-if <HOSTIF>` and its ring options, in any order, each
/// at most once: a power of two in 64..=16384 descriptors (the kernel's and the config's
/// `rx-ring-size` / `tx-ring-size` rule).
fn af_xdp(host_if: &str, rest: &[&str]) -> Result<Command, ParseError> {
    const U: &str = "create interface af_xdp";
    const RING: std::ops::RangeInclusive<u32> = 64..=16384;
    let host_if = name(host_if, "HOSTIF", U)?;
    let (mut rx_ring, mut tx_ring) = (None, None);
    let mut it = rest.iter();
    while let Some(&w) = it.next() {
        let slot = match w {
            "rx-ring-size" => &mut rx_ring,
            "tx-ring-size" => &mut tx_ring,
            _ => return Err(bad(U, format!("unexpected {w:?}"))),
        };
        if slot.is_some() {
            return Err(bad(U, format!("{w}: given twice")));
        }
        let v = it
            .next()
            .ok_or_else(|| bad(U, format!("{w}: needs a value")))?;
        let n = number(v, w, U, RING)?;
        if !n.is_power_of_two() {
            return Err(bad(U, format!("{w}: {n} is not a power of two")));
        }
        *slot = Some(n);
    }
    Ok(Command::CreateAfXdp {
        host_if,
        rx_ring,
        tx_ring,
    })
}

fn pcap(rest: &[&str]) -> Result<Command, ParseError> {
    const U: &str = "pcap trace [";
    let (mut rx, mut tx, mut drop, mut max, mut file) = (false, false, false, None, None);
    let mut it = rest.iter();
    while let Some(w) = it.next() {
        match *w {
            "rx" => rx = true,
            "tx" => tx = true,
            "drop" => drop = true,
            "max" => {
                let n = it
                    .next()
                    .ok_or_else(|| bad(U, "max: needs a number".into()))?;
                max = Some(number(n, "max", U, 1..=10_000_000)?);
            }
            "file" => {
                let p = it
                    .next()
                    .ok_or_else(|| bad(U, "file: needs a path".into()))?;
                file = Some(p.to_string());
            }
            other => {
                return Err(bad(
                    U,
                    format!("{other:?}: expected rx, tx, drop, max N or file PATH"),
                ))
            }
        }
    }
    if !(rx || tx || drop) {
        rx = true;
        tx = true;
        drop = true;
    }
    Ok(Command::PcapTrace {
        rx,
        tx,
        drop,
        max,
        file,
    })
}

/// Parses a command from its words. `--json` must already be removed.
pub fn parse(words: &[&str]) -> Result<Command, ParseError> {
    use Command::*;
    Ok(match words {
        ["show", "version"] => ShowVersion,
        ["show", "interfaces" | "interface" | "int"] => ShowInterfaces,
        ["show", "interfaces" | "interface" | "int", "rx-placement"] => ShowRxPlacement,
        ["show", "hardware-interfaces" | "hardware" | "hard"] => ShowHardwareInterfaces,
        ["show", "runtime" | "run"] => ShowRuntime,
        ["clear", "runtime" | "run"] => ClearRuntime,
        ["show", "errors" | "error"] => ShowErrors,
        ["clear", "errors" | "error"] => ClearErrors,
        ["show", "ip", "fib"] => ShowIpFib,
        ["show", "ip6", "fib"] => ShowIp6Fib,
        ["show", "ip", "neighbors" | "neighbor" | "arp"] => ShowNeighbors,
        ["show", "buffers"] => ShowBuffers,
        ["show", "graph"] => ShowGraph,
        ["show", "log"] => ShowLog,
        ["show", "trace"] => ShowTrace,
        ["clear", "trace"] => ClearTrace,
        ["trace", "add", node, count] => TraceAdd {
            node: node.to_string(),
            count: number(count, "COUNT", "trace add", 1..=10_000)?,
        },
        ["pcap", "trace", "off"] => PcapTraceOff,
        ["pcap", "trace", rest @ ..] => pcap(rest)?,
        ["set", "interface", "state", n, st] => {
            const U: &str = "set interface state";
            let up = match *st {
                "up" => true,
                "down" => false,
                other => return Err(bad(U, format!("{other:?}: expected up or down"))),
            };
            SetInterfaceState {
                name: name(n, "NAME", U)?,
                up,
            }
        }
        ["set", "interface", "mtu", n, b] => {
            const U: &str = "set interface mtu";
            SetInterfaceMtu {
                name: name(n, "NAME", U)?,
                bytes: number(b, "BYTES", U, 68..=9000)?,
            }
        }
        ["set", "interface", "ip", "address", n, p, rest @ ..] if rest.len() <= 1 => {
            const U: &str = "set interface ip address";
            let del = match rest {
                [] => false,
                ["del"] => true,
                [other] => return Err(bad(U, format!("{other:?}: expected del or nothing"))),
                _ => unreachable!("guarded by rest.len() <= 1"),
            };
            SetInterfaceIpAddress {
                name: name(n, "NAME", U)?,
                prefix: prefix(p, U)?,
                del,
            }
        }
        ["ip", "route", "add", p, "via", a, rest @ ..] if rest.len() <= 1 => {
            const U: &str = "ip route add";
            let p = prefix(p, U)?;
            let via = addr(a, U)?;
            if via.is_ipv4() != p.addr.is_ipv4() {
                return Err(bad(
                    U,
                    "ADDR: next hop and prefix are of different IP versions".into(),
                ));
            }
            let interface = rest.first().map(|n| name(n, "NAME", U)).transpose()?;
            IpRouteAdd {
                prefix: p,
                via,
                interface,
            }
        }
        ["ip", "route", "del", p] => IpRouteDel {
            prefix: prefix(p, "ip route del")?,
        },
        ["create", "host-interface", "name", h] => CreateHostInterface {
            host_if: name(h, "HOSTIF", "create host-interface")?,
        },
        ["create", "interface", "af_xdp", "host-if", h, rest @ ..] => af_xdp(h, rest)?,
        ["create", "tap"] => CreateTap { name: None },
        ["create", "tap", "name", n] => CreateTap {
            name: Some(name(n, "NAME", "create tap")?),
        },
        ["delete", "interface", n] => DeleteInterface {
            name: name(n, "NAME", "delete interface")?,
        },
        ["xdp", "block", "add", p] => XdpBlockAdd {
            prefix: prefix(p, "xdp block add")?,
        },
        ["xdp", "block", "del", p] => XdpBlockDel {
            prefix: prefix(p, "xdp block del")?,
        },
        ["show", "xdp"] => ShowXdp,
        [] => {
            return Err(ParseError {
                message: "no command".into(),
                usage: "show version".into(),
            })
        }
        _ => {
            let u = nearest(words);
            let matched = lead(u)
                .iter()
                .zip(words)
                .take_while(|(a, b)| a == b)
                .count();
            let message = if matched == lead(u).len() {
                format!("wrong arguments for {:?}", lead(u).join(" "))
            } else {
                format!("unknown command {:?}", words.join(" "))
            };
            return Err(ParseError {
                message,
                usage: u.to_string(),
            });
        }
    })
}

/// Removes every `--json` from `words`; returns the rest and whether it was there.
pub fn take_json_flag<'a>(words: &[&'a str]) -> (Vec<&'a str>, bool) {
    let json = words.contains(&"--json");
    (
        words.iter().copied().filter(|w| *w != "--json").collect(),
        json,
    )
}

/// Completions for an interactive shell: the next literal words that can follow `typed`.
pub fn complete(typed: &[&str], partial: &str) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = COMMANDS
        .iter()
        .filter_map(|u| {
            let l = lead(u);
            (l.len() > typed.len()
                && l[..typed.len()] == *typed
                && l[typed.len()].starts_with(partial))
            .then(|| l[typed.len()])
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: &str) -> Result<Command, ParseError> {
        let w: Vec<&str> = line.split_whitespace().collect();
        parse(&w)
    }

    #[test]
    fn every_usage_line_has_a_parse() {
        // Fill each usage with plausible arguments and parse it.
        for u in COMMANDS {
            let line = u
                .replace("[rx-placement]", "")
                .replace("<NODE>", "pg-input")
                .replace("<COUNT>", "10")
                .replace(
                    "[rx] [tx] [drop] [max <N>] [file <PATH>]",
                    "rx max 100 file /tmp/x.pcap",
                )
                .replace("up|down", "up")
                .replace("[<NAME>]", "")
                .replace("[name <NAME>]", "")
                .replace("<NAME>", "lan")
                .replace("<BYTES>", "1500")
                .replace("<PREFIX>", "10.8.0.0/16")
                .replace("[del]", "")
                .replace("<ADDR>", "10.2.0.2")
                .replace("<HOSTIF>", "veth0")
                .replace("[rx-ring-size <N>] [tx-ring-size <N>]", "rx-ring-size 512");
            assert!(p(&line).is_ok(), "{u} -> {line}: {:?}", p(&line));
            assert_eq!(p(&line).unwrap().usage(), *u, "{line}");
        }
    }

    #[test]
    fn typed_arguments() {
        assert_eq!(
            p("trace add pg-input 5").unwrap(),
            Command::TraceAdd {
                node: "pg-input".into(),
                count: 5
            }
        );
        assert_eq!(
            p("ip route add fd08::/48 via fd01::2 lan").unwrap(),
            Command::IpRouteAdd {
                prefix: Prefix {
                    addr: "fd08::".parse().unwrap(),
                    len: 48
                },
                via: "fd01::2".parse().unwrap(),
                interface: Some("lan".into())
            }
        );
        assert_eq!(
            p("pcap trace").unwrap(),
            Command::PcapTrace {
                rx: true,
                tx: true,
                drop: true,
                max: None,
                file: None
            }
        );
        assert_eq!(
            p("set interface state wan down").unwrap(),
            Command::SetInterfaceState {
                name: "wan".into(),
                up: false
            }
        );
    }

    #[test]
    fn af_xdp_ring_options() {
        let c = |rx, tx| Command::CreateAfXdp {
            host_if: "xb".into(),
            rx_ring: rx,
            tx_ring: tx,
        };
        assert_eq!(
            p("create interface af_xdp host-if xb").unwrap(),
            c(None, None)
        );
        assert_eq!(
            p("create interface af_xdp host-if xb tx-ring-size 256 rx-ring-size 4096").unwrap(),
            c(Some(4096), Some(256))
        );
        assert_eq!(
            p("create interface af_xdp host-if xb rx-ring-size 64").unwrap(),
            c(Some(64), None)
        );
        for (line, says) in [
            (
                "rx-ring-size 3000",
                "rx-ring-size: 3000 is not a power of two",
            ),
            (
                "rx-ring-size 32",
                "rx-ring-size: \"32\" is not a number in 64..=16384",
            ),
            (
                "tx-ring-size 32768",
                "tx-ring-size: \"32768\" is not a number in 64..=16384",
            ),
            ("tx-ring-size", "tx-ring-size: needs a value"),
            (
                "rx-ring-size 512 rx-ring-size 1024",
                "rx-ring-size: given twice",
            ),
            ("queues 2", "unexpected \"queues\""),
        ] {
            let e = p(&format!("create interface af_xdp host-if xb {line}")).unwrap_err();
            assert!(e.message.contains(says), "{line}: {e}");
            assert!(e.usage.starts_with("create interface af_xdp"), "{e}");
        }
    }

    #[test]
    fn errors_say_what_and_show_the_nearest_usage() {
        let e = p("set interface mtu lan 20").unwrap_err();
        assert!(
            e.message.contains("BYTES") && e.message.contains("68..=9000"),
            "{e}"
        );
        assert_eq!(e.usage, "set interface mtu <NAME> <BYTES>");
        let e = p("show interfacs").unwrap_err();
        assert!(e.message.contains("unknown command"), "{e}");
        assert_eq!(e.usage, "show interfaces [rx-placement]");
        let e = p("ip route add 10.0.0.0/33 via 10.0.0.1").unwrap_err();
        assert!(e.message.contains("PREFIX"), "{e}");
        let e = p("ip route add 10.0.0.0/8 via fd00::1").unwrap_err();
        assert!(e.message.contains("different IP versions"), "{e}");
        let e = p("trace add").unwrap_err();
        assert!(e.message.contains("wrong arguments"), "{e}");
        assert_eq!(e.usage, "trace add <NODE> <COUNT>");
        let e = p("set interface state lan sideways").unwrap_err();
        assert!(e.message.contains("up or down"), "{e}");
        assert!(p("").is_err());
    }

    #[test]
    fn json_flag_anywhere() {
        let (w, j) = take_json_flag(&["--json", "show", "interfaces"]);
        assert_eq!((w, j), (vec!["show", "interfaces"], true));
        let (w, j) = take_json_flag(&["show", "errors", "--json"]);
        assert_eq!((w, j), (vec!["show", "errors"], true));
    }

    #[test]
    fn completion_offers_next_words() {
        assert_eq!(complete(&["show", "ip"], ""), vec!["fib", "neighbors"]);
        assert!(complete(&[], "sh").contains(&"show"));
        assert_eq!(complete(&["set", "interface"], "m"), vec!["mtu"]);
    }

    #[test]
    fn garbage_never_panics() {
        let words = [
            "show",
            "ip",
            "set",
            "interface",
            "",
            "-",
            "--json",
            "999999999999",
            "10.0.0.0/99",
            "via",
            "ä",
        ];
        let mut x = 1u64;
        for _ in 0..20_000 {
            let mut line = Vec::new();
            for _ in 0..(x % 7) {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                line.push(words[(x >> 33) as usize % words.len()]);
            }
            x = x.wrapping_add(1);
            let _ = parse(&line);
        }
    }
}
