//! Every command of `ctl::grammar::COMMANDS` through the real socket, sent by the
//! `uplanectl` binary to a daemon started as `uplane -c FILE` with pg and pcap interfaces
//! (no root needed; the TAP part runs only as root): every `show` also with `--json`,
//! parsed and checked; state changes checked by a following `show`; bad commands and bad
//! arguments refused with a one-line error and the nearest usage, changing nothing.

mod cli_support;

use cli_support::{capture, u, wait_for, TempDir, Uplane};
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;

const CAPTURE_PACKETS: u64 = 136;

/// pg interfaces `lan`, `wan`; pcap `in` (the capture, replayed once) and `out` (a tx
/// file), a default route out of `out` via a static neighbour.
fn body(dir: &std::path::Path) -> String {
    format!(
        r#"[metrics]
enable = false
[buffers]
count = 4096
[[interface]]
name = "lan"
driver = "pg"
address = ["10.1.0.1/24", "fd01::1/64"]
[[interface]]
name = "wan"
driver = "pg"
address = ["10.2.0.1/24"]
[[interface]]
name = "in"
driver = "pcap"
rx-file = "{rx}"
address = ["10.255.0.1/24"]
[[interface]]
name = "out"
driver = "pcap"
tx-file = "{tx}"
mac = "02:00:00:00:00:02"
address = ["10.254.0.1/24"]
[[neighbor]]
interface = "out"
ip = "10.254.0.2"
mac = "02:00:00:00:00:99"
[[route]]
prefix = "0.0.0.0/0"
via = "10.254.0.2"
"#,
        rx = capture().display(),
        tx = dir.join("out.pcap").display()
    )
}

/// Starts the daemon and waits until the capture went through (nothing moves after that).
fn quiet(dir: &TempDir) -> Uplane {
    let d = Uplane::start(&dir.0, &body(&dir.0));
    wait_for("the capture replay", || {
        let rx = u(&d.interface("in").unwrap(), "rx_packets");
        (rx == CAPTURE_PACKETS).then_some(())
    });
    d
}

/// Runs `args` through uplanectl and records which usage line it exercised.
struct Covered<'a> {
    d: &'a Uplane,
    seen: BTreeSet<&'static str>,
}

impl Covered<'_> {
    fn mark(&mut self, args: &[&str]) {
        let (words, _) = ctl::grammar::take_json_flag(args);
        let cmd = ctl::grammar::parse(&words).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        self.seen.insert(cmd.usage());
    }

    fn ok(&mut self, args: &[&str]) -> String {
        self.mark(args);
        self.d.ok(args)
    }

    fn json(&mut self, args: &[&str]) -> Value {
        self.mark(args);
        self.d.json(args)
    }

    /// Refused: (the one-line message, the usage line).
    fn refused(&mut self, args: &[&str]) -> (String, String) {
        self.mark(args);
        refused(self.d, args)
    }
}

/// `args` must fail with exactly `error: ...` and `usage: ...` on stderr, nothing on stdout.
fn refused(d: &Uplane, args: &[&str]) -> (String, String) {
    let (ok, out, err) = d.ctl(args);
    assert!(!ok, "uplanectl {args:?} succeeded: {out}");
    assert!(out.is_empty(), "uplanectl {args:?}: stdout {out:?}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines.len(),
        2,
        "uplanectl {args:?}: want error + usage:\n{err}"
    );
    let msg = lines[0]
        .strip_prefix("error: ")
        .unwrap_or_else(|| panic!("{err}"));
    let usage = lines[1]
        .strip_prefix("usage: ")
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        ctl::COMMANDS.contains(&usage),
        "{usage:?} is not a usage line"
    );
    (msg.to_string(), usage.to_string())
}

fn array(v: &Value) -> &Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a JSON array: {v}"))
}

fn prefixes(v: &Value) -> Vec<(String, String)> {
    array(v)
        .iter()
        .map(|r| {
            (
                r["prefix"].as_str().unwrap().to_string(),
                r["dpo"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn has_prefix(v: &Value, p: &str) -> bool {
    prefixes(v).iter().any(|(q, _)| q == p)
}

fn names(d: &Uplane) -> Vec<String> {
    array(&d.json(&["show", "interfaces"]))
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_command_through_the_socket() {
    let dir = TempDir::new("cli-every");
    let d = quiet(&dir);
    let mut c = Covered {
        d: &d,
        seen: BTreeSet::new(),
    };

    // show version
    assert!(c.ok(&["show", "version"]).starts_with("uplane "));
    let v = c.json(&["show", "version"]);
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["cli_socket"], d.socket.display().to_string());
    assert!(v["metrics"].is_null(), "metrics are off: {v}");
    assert!(v["uptime_s"].is_u64());

    // show interfaces: text and JSON, --json before or after the command.
    let t = c.ok(&["show", "interfaces"]);
    for n in ["Name", "lan", "wan", "in", "out"] {
        assert!(t.contains(n), "{n} missing:\n{t}");
    }
    let ifs = c.json(&["show", "interfaces"]);
    assert_eq!(ifs, d.json(&["show", "interfaces", "--json"]));
    assert_eq!(array(&ifs).len(), 4);
    for i in array(&ifs) {
        assert!(i["name"].is_string(), "{i}");
        assert_eq!(i["state"], "up", "{i}");
        assert_eq!(u(i, "mtu"), 1500);
        for k in [
            "index",
            "rx_packets",
            "rx_bytes",
            "tx_packets",
            "tx_bytes",
            "drops",
        ] {
            u(i, k);
        }
    }
    let inn = d.interface("in").unwrap();
    assert_eq!(u(&inn, "rx_packets"), CAPTURE_PACKETS);
    assert!(u(&inn, "rx_bytes") > 60 * CAPTURE_PACKETS);
    assert!(u(&d.interface("out").unwrap(), "tx_packets") > 0);

    // show interfaces rx-placement
    let t = c.ok(&["show", "interfaces", "rx-placement"]);
    assert!(t.contains("in queue 0") && t.contains("out queue 0"), "{t}");
    let v = c.json(&["show", "interfaces", "rx-placement"]);
    let placed: Vec<&str> = array(&v)
        .iter()
        .map(|p| p["interface"].as_str().unwrap())
        .collect();
    assert_eq!(placed, ["in", "out"], "pg interfaces have no rx queue");

    // show hardware-interfaces
    let t = c.ok(&["show", "hardware-interfaces"]);
    assert!(t.contains("in (index 2)"), "{t}");
    let v = c.json(&["show", "hardware-interfaces"]);
    assert_eq!(array(&v).len(), 4);
    assert!(array(&v).iter().any(|h| h["driver"] == "Pcap"), "{v}");

    // show runtime / clear runtime
    assert!(c.ok(&["show", "runtime"]).contains("pcap-input"));
    let rt = c.json(&["show", "runtime"]);
    let node = |rt: &Value, n: &str| -> Value {
        array(rt)
            .iter()
            .find(|r| r["node"] == n)
            .cloned()
            .unwrap_or_else(|| panic!("no node {n} in {rt}"))
    };
    for r in array(&rt) {
        assert!(r["node"].is_string(), "{r}");
        u(r, "calls");
        u(r, "vectors");
        assert!(r["clocks_per_packet"].is_number(), "{r}");
    }
    assert_eq!(u(&node(&rt, "pcap-input"), "vectors"), CAPTURE_PACKETS);
    assert!(u(&node(&rt, "ip4-lookup"), "vectors") > 0);
    assert_eq!(c.ok(&["clear", "runtime"]), "");
    let rt = d.json(&["show", "runtime"]);
    assert_eq!(
        u(&node(&rt, "pcap-input"), "vectors"),
        0,
        "cleared, and nothing arrives"
    );
    assert_eq!(u(&node(&rt, "ip4-lookup"), "vectors"), 0);

    // show errors / clear errors
    assert!(c.ok(&["show", "errors"]).contains("packets received"));
    let errs = c.json(&["show", "errors"]);
    for e in array(&errs) {
        assert!(e["node"].is_string() && e["reason"].is_string(), "{e}");
        u(e, "count");
    }
    let received = array(&errs)
        .iter()
        .find(|e| e["node"] == "pcap-input" && e["reason"] == "packets received")
        .unwrap_or_else(|| panic!("{errs}"));
    assert_eq!(u(received, "count"), CAPTURE_PACKETS);
    assert_eq!(c.ok(&["clear", "errors"]), "");
    let errs = d.json(&["show", "errors"]);
    assert!(
        array(&errs).iter().all(|e| u(e, "count") == 0),
        "after clear errors: {errs}"
    );

    // show ip fib / show ip6 fib / show ip neighbors
    assert!(c.ok(&["show", "ip", "fib"]).contains("ipv4 unicast FIB"));
    let fib = c.json(&["show", "ip", "fib"]);
    let default = prefixes(&fib)
        .into_iter()
        .find(|(p, _)| p == "0.0.0.0/0")
        .unwrap_or_else(|| panic!("{fib}"));
    assert!(default.1.contains("10.254.0.2"), "{default:?}");
    assert!(has_prefix(&fib, "10.1.0.1/32") && has_prefix(&fib, "10.1.0.0/24"));
    assert!(c.ok(&["show", "ip6", "fib"]).contains("ipv6 unicast FIB"));
    let fib6 = c.json(&["show", "ip6", "fib"]);
    assert!(
        has_prefix(&fib6, "fd01::/64") && has_prefix(&fib6, "fd01::1/128"),
        "{fib6}"
    );
    assert!(c.ok(&["show", "ip", "neighbors"]).contains("10.254.0.2"));
    let nb = c.json(&["show", "ip", "neighbors"]);
    assert!(
        array(&nb).iter().any(|n| n["ip"] == "10.254.0.2"
            && n["mac"] == "02:00:00:00:00:99"
            && n["static"] == true
            && n["interface"] == "out"),
        "{nb}"
    );

    // show buffers
    assert!(c.ok(&["show", "buffers"]).contains("4096 buffers"));
    let b = c.json(&["show", "buffers"]);
    assert_eq!(u(&b, "buffers"), 4096);
    assert!(
        u(&b, "free") + u(&b, "cached") + u(&b, "in_use") <= 4096,
        "{b}"
    );

    // show graph (Graphviz dot)
    let dot = c.ok(&["show", "graph"]);
    assert!(
        dot.starts_with("digraph") && dot.contains("ip4-lookup"),
        "{dot}"
    );
    let v = c.json(&["show", "graph"]);
    assert_eq!(v["dot"].as_str(), Some(dot.as_str()));

    // show log
    assert!(c.ok(&["show", "log"]).contains("started"));
    let log = c.json(&["show", "log"]);
    assert!(array(&log).iter().all(Value::is_string));
    assert!(array(&log)
        .iter()
        .any(|l| l.as_str().unwrap().contains("interface out created")));

    // trace add / show trace / clear trace (packets traced: cli_traffic.rs)
    assert_eq!(c.ok(&["trace", "add", "pcap-input", "5"]), "");
    let tr = c.json(&["show", "trace"]);
    assert_eq!(u(&tr, "packets"), 0, "nothing arrives: {tr}");
    c.ok(&["show", "trace"]);
    assert_eq!(c.ok(&["clear", "trace"]), "");
    let (msg, usage) = c.refused(&["trace", "add", "no-such-node", "5"]);
    assert!(msg.contains("NODE"), "{msg}");
    assert_eq!(usage, "trace add <NODE> <COUNT>");

    // pcap trace / pcap trace off
    let file = dir.0.join("trace.pcap");
    let f = file.to_str().unwrap();
    let t = c.ok(&["pcap", "trace", "rx", "drop", "max", "10", "file", f]);
    assert!(t.contains("pcap trace rx drop on"), "{t}");
    let t = c.ok(&["pcap", "trace", "off"]);
    assert!(t.contains("0 packets written"), "{t}");
    assert!(file.exists());
    let (msg, _) = c.refused(&["pcap", "trace", "off"]);
    assert!(msg.contains("no pcap trace is running"), "{msg}");

    // set interface state
    assert_eq!(c.ok(&["set", "interface", "state", "lan", "down"]), "");
    assert_eq!(d.interface("lan").unwrap()["state"], "down");
    c.ok(&["set", "interface", "state", "lan", "up"]);
    assert_eq!(d.interface("lan").unwrap()["state"], "up");

    // set interface mtu
    c.ok(&["set", "interface", "mtu", "wan", "9000"]);
    assert_eq!(u(&d.interface("wan").unwrap(), "mtu"), 9000);

    // set interface ip address [del]
    c.ok(&["set", "interface", "ip", "address", "wan", "10.3.0.1/24"]);
    let fib = d.json(&["show", "ip", "fib"]);
    assert!(has_prefix(&fib, "10.3.0.0/24") && has_prefix(&fib, "10.3.0.1/32"));
    c.ok(&[
        "set",
        "interface",
        "ip",
        "address",
        "wan",
        "10.3.0.1/24",
        "del",
    ]);
    let fib = d.json(&["show", "ip", "fib"]);
    assert!(!has_prefix(&fib, "10.3.0.0/24") && !has_prefix(&fib, "10.3.0.1/32"));

    // ip route add / del, IPv4 and IPv6, with and without an interface
    c.ok(&["ip", "route", "add", "10.8.0.0/16", "via", "10.2.0.2"]);
    c.ok(&[
        "ip",
        "route",
        "add",
        "10.9.0.0/16",
        "via",
        "10.2.0.2",
        "wan",
    ]);
    c.ok(&["ip", "route", "add", "fd08::/48", "via", "fd01::2"]);
    let fib = d.json(&["show", "ip", "fib"]);
    for p in ["10.8.0.0/16", "10.9.0.0/16"] {
        let (_, dpo) = prefixes(&fib)
            .into_iter()
            .find(|(q, _)| q == p)
            .unwrap_or_else(|| panic!("{p} missing: {fib}"));
        assert!(dpo.contains("10.2.0.2") && dpo.contains("wan"), "{dpo}");
    }
    assert!(has_prefix(&d.json(&["show", "ip6", "fib"]), "fd08::/48"));
    c.ok(&["ip", "route", "del", "10.8.0.0/16"]);
    c.ok(&["ip", "route", "del", "fd08::/48"]);
    assert!(!has_prefix(&d.json(&["show", "ip", "fib"]), "10.8.0.0/16"));
    assert!(has_prefix(&d.json(&["show", "ip", "fib"]), "10.9.0.0/16"));
    assert!(!has_prefix(&d.json(&["show", "ip6", "fib"]), "fd08::/48"));

    // create host-interface / af_xdp on a kernel interface that does not exist: refused,
    // nothing added (with root, cli_root.rs creates real ones).
    let before = names(&d);
    let (msg, usage) = c.refused(&["create", "host-interface", "name", "nosuchif0"]);
    assert!(msg.contains("nosuchif0"), "{msg}");
    assert_eq!(usage, "create host-interface name <HOSTIF>");
    let (msg, _) = c.refused(&["create", "interface", "af_xdp", "host-if", "nosuchif0"]);
    assert!(msg.contains("nosuchif0"), "{msg}");
    assert_eq!(names(&d), before);

    // create tap [name NAME] / delete interface: a real TAP needs root.
    let tap = format!("uptst{}", std::process::id() % 100_000);
    if testkit::is_root() {
        let t = c.ok(&["create", "tap", "name", &tap]);
        assert!(t.starts_with(&tap), "{t}");
        assert!(names(&d).contains(&tap));
        assert!(link_exists(&tap), "the TAP is in the kernel");
        c.ok(&["delete", "interface", &tap]);
        assert!(!names(&d).contains(&tap));
        assert!(!link_exists(&tap), "delete interface removed the TAP");
    } else {
        println!("SKIPPED the TAP part: not root");
        let (msg, _) = c.refused(&["create", "tap", "name", &tap]);
        assert!(msg.contains(&tap), "{msg}");
        c.mark(&["delete", "interface", "x"]);
    }

    // delete interface: a pg interface, with its addresses and routes.
    c.ok(&["delete", "interface", "wan"]);
    assert!(!names(&d).contains(&"wan".to_string()));
    let fib = d.json(&["show", "ip", "fib"]);
    for p in ["10.2.0.0/24", "10.2.0.1/32", "10.9.0.0/16"] {
        assert!(!has_prefix(&fib, p), "{p} outlived wan: {fib}");
    }
    let (msg, _) = refused(&d, &["set", "interface", "state", "wan", "up"]);
    assert!(msg.contains("no interface"), "{msg}");
    // ... and a pcap one, with its device and its neighbour.
    c.ok(&["delete", "interface", "out"]);
    assert!(!names(&d).contains(&"out".to_string()));
    assert!(array(&d.json(&["show", "ip", "neighbors"])).is_empty());
    let hw = d.json(&["show", "hardware-interfaces"]);
    assert!(array(&hw).iter().all(|h| h["name"] != "out"), "{hw}");
    assert!(!d
        .ok(&["show", "interfaces", "rx-placement"])
        .contains("out"));
    // A deleted name can be used again.
    c.ok(&["set", "interface", "ip", "address", "lan", "10.2.0.1/24"]);

    // xdp: no interface runs the XDP program here.
    assert!(c
        .ok(&["show", "xdp"])
        .contains("no interface runs the XDP program"));
    assert!(array(&c.json(&["show", "xdp"])).is_empty());
    let (msg, _) = c.refused(&["xdp", "block", "add", "10.9.0.0/16"]);
    assert!(msg.contains("no interface runs the XDP program"), "{msg}");
    c.refused(&["xdp", "block", "del", "10.9.0.0/16"]);

    // Still alive and answering.
    c.ok(&["show", "version"]);
    let missing: Vec<&&str> = ctl::COMMANDS
        .iter()
        .filter(|u| !c.seen.contains(**u))
        .collect();
    assert!(missing.is_empty(), "commands not exercised: {missing:?}");
}

fn link_exists(name: &str) -> bool {
    Command::new("ip")
        .args(["link", "show", name])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// The state a refused command must leave alone.
fn snapshot(d: &Uplane) -> Vec<Value> {
    let mut ifs = d.json(&["show", "interfaces"]);
    for i in ifs.as_array_mut().unwrap() {
        let o = i.as_object_mut().unwrap();
        o.retain(|k, _| ["name", "index", "state", "mtu"].contains(&k.as_str()));
    }
    vec![
        ifs,
        d.json(&["show", "ip", "fib"]),
        d.json(&["show", "ip6", "fib"]),
        d.json(&["show", "ip", "neighbors"]),
        d.json(&["show", "interfaces", "rx-placement"]),
    ]
}

#[test]
fn bad_commands_and_arguments_are_refused_and_change_nothing() {
    let dir = TempDir::new("cli-bad");
    let d = quiet(&dir);
    let before = snapshot(&d);
    // (words, what the message says, the usage shown)
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["show", "interfacs"],
            "unknown command",
            "show interfaces [rx-placement]",
        ),
        (&["frobnicate", "now"], "unknown command", ""),
        (
            &["set", "interface", "mtu", "lan", "20"],
            "68..=9000",
            "set interface mtu <NAME> <BYTES>",
        ),
        (
            &["set", "interface", "state", "lan", "sideways"],
            "up or down",
            "set interface state <NAME> up|down",
        ),
        (
            &["ip", "route", "add", "10.0.0.0/33", "via", "10.1.0.9"],
            "PREFIX",
            "ip route add <PREFIX> via <ADDR> [<NAME>]",
        ),
        (
            &["ip", "route", "add", "10.0.0.0/8", "via", "fd00::1"],
            "different IP versions",
            "ip route add <PREFIX> via <ADDR> [<NAME>]",
        ),
        (
            &["trace", "add", "pcap-input"],
            "wrong arguments",
            "trace add <NODE> <COUNT>",
        ),
        (
            &["trace", "add", "pcap-input", "lots"],
            "COUNT",
            "trace add <NODE> <COUNT>",
        ),
        (
            &["pcap", "trace", "max"],
            "needs a number",
            "pcap trace [rx] [tx] [drop] [max <N>] [file <PATH>]",
        ),
        (
            &["delete", "interface"],
            "wrong arguments",
            "delete interface <NAME>",
        ),
        (
            &["set", "interface", "ip", "address", "lan", "banana"],
            "PREFIX",
            "set interface ip address <NAME> <PREFIX> [del]",
        ),
        (
            &["xdp", "block", "add", "nope"],
            "PREFIX",
            "xdp block add <PREFIX>",
        ),
        (
            &["set", "interface", "state", "bad/name", "up"],
            "NAME",
            "set interface state <NAME> up|down",
        ),
        // Well-formed, refused by the daemon.
        (
            &["set", "interface", "state", "nosuch", "up"],
            "no interface",
            "set interface state <NAME> up|down",
        ),
        (
            &["delete", "interface", "nosuch"],
            "no interface",
            "delete interface <NAME>",
        ),
        (
            &["ip", "route", "add", "10.8.0.0/16", "via", "192.0.2.1"],
            "192.0.2.1",
            "ip route add <PREFIX> via <ADDR> [<NAME>]",
        ),
        (
            &[
                "ip",
                "route",
                "add",
                "10.8.0.0/16",
                "via",
                "10.1.0.2",
                "nosuch",
            ],
            "no interface",
            "ip route add <PREFIX> via <ADDR> [<NAME>]",
        ),
        (
            &["ip", "route", "del", "10.77.0.0/16"],
            "10.77.0.0/16",
            "ip route del <PREFIX>",
        ),
        (
            &["set", "interface", "ip", "address", "lan", "10.1.0.1/24"],
            "10.1.0.1",
            "set interface ip address <NAME> <PREFIX> [del]",
        ),
        (
            &[
                "set",
                "interface",
                "ip",
                "address",
                "lan",
                "10.77.0.1/24",
                "del",
            ],
            "10.77.0.1",
            "set interface ip address <NAME> <PREFIX> [del]",
        ),
        (
            &["trace", "add", "no-such-node", "5"],
            "NODE",
            "trace add <NODE> <COUNT>",
        ),
        (
            &["--json", "show", "ip", "fibb"],
            "unknown command",
            "show ip fib",
        ),
    ];
    for (words, says, usage) in cases {
        let (msg, shown) = refused(&d, words);
        assert!(
            msg.to_lowercase().contains(&says.to_lowercase()),
            "{words:?}: {msg:?} should say {says:?}"
        );
        if !usage.is_empty() {
            assert_eq!(&shown, usage, "{words:?}");
        }
    }
    assert_eq!(snapshot(&d), before, "a refused command changed something");

    // No daemon on the socket: one clear line, non-zero exit.
    let (ok, out, err) = cli_support::ctl_at(&dir.0.join("nope.sock"), &["show", "version"]);
    assert!(!ok && out.is_empty());
    assert!(err.contains("is uplane running?"), "{err}");
}

#[test]
fn restart_leaves_no_socket_and_starts_again_on_the_same_one() {
    let dir = TempDir::new("cli-restart");
    let mut d = quiet(&dir);
    d.ok(&["set", "interface", "state", "lan", "down"]);
    let st = d.stop();
    assert!(st.success(), "uplane exited with {st}:\n{}", d.stderr());
    assert!(!d.socket.exists(), "the socket file outlived the daemon");
    assert!(
        dir.0.join("out.pcap").exists(),
        "the tx file was flushed and closed"
    );

    // Same config, same socket: a fresh daemon, state from the config again.
    let d = Uplane::start_file(&d.config.clone(), &d.socket.clone(), &[]);
    assert_eq!(d.interface("lan").unwrap()["state"], "up");
    d.ok(&["show", "version"]);

    // A second daemon on a live socket is refused and does not disturb the first.
    let cfg = d.config.clone();
    let out = Command::new(env!("CARGO_BIN_EXE_uplane"))
        .arg("-c")
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by a running daemon"), "{err}");
    d.ok(&["show", "version"]);

    // Killed hard, it leaves a stale socket file; the next start replaces it.
    let pid = d.pid().to_string();
    Command::new("kill").args(["-KILL", &pid]).status().unwrap();
    drop(d);
    assert!(
        dir.0.join("cli.sock").exists(),
        "stale socket left by SIGKILL"
    );
    let mut d = Uplane::start_file(&cfg, &dir.0.join("cli.sock"), &[]);
    d.ok(&["show", "version"]);
    assert!(d.stop().success());
    assert!(!dir.0.join("cli.sock").exists());
}
