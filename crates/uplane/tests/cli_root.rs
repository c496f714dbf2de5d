//! As root: interfaces over kernel devices created and deleted through the CLI (AF_XDP
//! with uplane's XDP program, AF_PACKET, TAP), the XDP block list, and restarts that leave
//! no XDP program, TAP, socket or namespace behind; `uplane demo --duration` stops by
//! itself and removes its lab. Skipped (with a message) without root.

mod cli_support;

use cli_support::{write_config, TempDir, Uplane};
use std::process::Command;
use std::time::{Duration, Instant};
use testkit::Lab;

/// `ip link show DEV` in lab namespace `ns`, or `None` if there is no such device.
fn link(lab: &Lab, ns: &str, dev: &str) -> Option<String> {
    lab.ip(ns, &["link", "show", dev]).ok()
}

fn names(d: &Uplane) -> Vec<String> {
    d.json(&["show", "interfaces"])
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn kernel_interfaces_created_deleted_and_nothing_left_after_restart() {
    testkit::require_root!();
    let mut lab = Lab::new();
    lab.netns("r").unwrap();
    lab.netns("h").unwrap();
    lab.veth("h", "eth0", "r", "xa").unwrap();
    lab.veth("h", "eth1", "r", "xb").unwrap();
    for (ns, dev) in [("h", "eth0"), ("h", "eth1"), ("r", "xa"), ("r", "xb")] {
        lab.up(ns, dev).unwrap();
    }
    let dir = TempDir::new("cli-root");
    let cfg = write_config(
        &dir.0,
        "[metrics]\nenable = false\n[[interface]]\nname = \"lan\"\ndriver = \"af_xdp\"\nhost-if = \"xa\"\naddress = [\"10.1.0.1/24\"]\n",
    );
    let socket = dir.0.join("cli.sock");
    let prefix = ["ip", "netns", "exec", lab.ns("r").unwrap()];
    let mut d = Uplane::start_file(&cfg, &socket, &prefix);
    let xdp = d.ok(&["show", "hardware-interfaces"]).contains("AF_XDP");
    if xdp {
        assert!(
            link(&lab, "r", "xa").unwrap().contains("xdp"),
            "no XDP program on xa"
        );
    } else {
        println!("AF_XDP fell back to AF_PACKET here; the XDP checks are skipped");
    }

    // AF_PACKET: create host-interface, then delete it.
    let t = d.ok(&["create", "host-interface", "name", "xb"]);
    assert!(t.starts_with("host-xb"), "{t}");
    assert!(names(&d).contains(&"host-xb".into()));
    d.ok(&["delete", "interface", "host-xb"]);
    assert!(!names(&d).contains(&"host-xb".into()));
    // ... and the kernel interface can be taken again.
    d.ok(&["create", "interface", "af_xdp", "host-if", "xb"]);
    assert!(names(&d).contains(&"xdp-xb".into()));
    d.ok(&["delete", "interface", "xdp-xb"]);
    // With ring sizes (a bad one is refused by name, and nothing is created).
    let words = |s: &'static str| s.split_whitespace().collect::<Vec<_>>();
    let (ok, out, err) = d.ctl(&words(
        "create interface af_xdp host-if xb rx-ring-size 1000",
    ));
    assert!(!ok, "{out}");
    assert!(
        err.contains("rx-ring-size: 1000 is not a power of two"),
        "{err}"
    );
    assert!(!names(&d).contains(&"xdp-xb".into()));
    d.ok(&words(
        "create interface af_xdp host-if xb rx-ring-size 512 tx-ring-size 256",
    ));
    if xdp {
        let hw = d.ok(&["show", "hardware-interfaces"]);
        assert!(hw.contains("rx 512 / fill 1024 descriptors"), "{hw}");
        assert!(hw.contains("tx 256 / completion 512 descriptors"), "{hw}");
    }
    d.ok(&["delete", "interface", "xdp-xb"]);
    if xdp {
        assert!(
            !link(&lab, "r", "xb").unwrap().contains("xdp"),
            "XDP left on xb"
        );
    }

    // TAP: created in the daemon's namespace, gone from the kernel when deleted.
    let t = d.ok(&["create", "tap"]);
    let tap = t.split_whitespace().next().unwrap().to_string();
    assert!(
        link(&lab, "r", &tap).is_some(),
        "{tap} is not in the kernel"
    );
    d.ok(&["delete", "interface", &tap]);
    assert!(
        link(&lab, "r", &tap).is_none(),
        "{tap} outlived delete interface"
    );

    if xdp {
        d.ok(&["xdp", "block", "add", "10.9.0.0/16"]);
        let v = d.json(&["show", "xdp"]);
        assert_eq!(v[0]["blocklist"][0]["prefix"], "10.9.0.0/16", "{v}");
        d.ok(&["xdp", "block", "del", "10.9.0.0/16"]);
        assert!(d.json(&["show", "xdp"])[0]["blocklist"]
            .as_array()
            .unwrap()
            .is_empty());
    }

    // Deleting the AF_XDP interface detaches the program.
    d.ok(&["delete", "interface", "lan"]);
    assert!(
        !link(&lab, "r", "xa").unwrap().contains("xdp"),
        "XDP left on xa"
    );
    assert!(d.json(&["show", "xdp"]).as_array().unwrap().is_empty());

    // Stop, restart on the same socket, stop: nothing left behind each time.
    assert!(d.stop().success(), "{}", d.stderr());
    assert!(!socket.exists());
    let mut d = Uplane::start_file(&cfg, &socket, &prefix);
    if xdp {
        assert!(link(&lab, "r", "xa").unwrap().contains("xdp"));
    }
    assert!(names(&d).contains(&"lan".into()));
    assert!(d.stop().success(), "{}", d.stderr());
    assert!(!socket.exists(), "socket left after SIGTERM");
    assert!(
        !link(&lab, "r", "xa").unwrap().contains("xdp"),
        "XDP program left after SIGTERM"
    );
}

#[test]
fn demo_stops_by_itself_after_its_duration_and_removes_its_lab() {
    testkit::require_root!();
    let dir = TempDir::new("cli-demo");
    let socket = dir.0.join("demo.sock");
    let mut child = Command::new(env!("CARGO_BIN_EXE_uplane"))
        .args(["demo", "--duration", "2", "--seconds", "1", "--socket"])
        .arg(&socket)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let st = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
            panic!("uplane demo --duration 2 did not stop by itself");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(st.success(), "demo exited with {st}");
    assert!(!socket.exists(), "the demo left its socket");
    let ns = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let ns = String::from_utf8_lossy(&ns.stdout);
    assert!(
        !ns.contains("uplane-demo-"),
        "the demo left namespaces:\n{ns}"
    );
}
