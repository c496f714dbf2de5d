//! The CLI used while traffic flows: a capture replayed forever at its own pace (about 20
//! packets a second) through a daemon started as `uplane -c FILE`, queried over and over
//! through `uplanectl`. Every query answers (within a generous timeout), the counters
//! grow between queries, trace and pcap trace catch live packets, and SIGTERM stops the
//! daemon cleanly in the middle of it.

mod cli_support;

use cli_support::{capture, u, wait_for, TempDir, Uplane};
use serde_json::Value;

fn start(dir: &TempDir) -> Uplane {
    Uplane::start(
        &dir.0,
        &format!(
            "[metrics]\nenable = false\n[buffers]\ncount = 4096\n\
             [[interface]]\nname = \"in\"\ndriver = \"pcap\"\nrx-file = \"{}\"\nrx-loop = true\ntiming = \"capture\"\naddress = [\"10.255.0.1/24\"]\n\
             [[interface]]\nname = \"out\"\ndriver = \"pg\"\naddress = [\"10.254.0.1/24\"]\n\
             [[neighbor]]\ninterface = \"out\"\nip = \"10.254.0.2\"\nmac = \"02:00:00:00:00:99\"\n\
             [[route]]\nprefix = \"0.0.0.0/0\"\nvia = \"10.254.0.2\"\n",
            capture().display()
        ),
    )
}

fn vectors(d: &Uplane, node: &str) -> u64 {
    let rt = d.json(&["show", "runtime"]);
    let r = rt
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["node"] == node)
        .unwrap_or_else(|| panic!("no {node} in {rt}"));
    u(r, "vectors")
}

#[test]
fn the_cli_answers_and_counters_grow_while_traffic_flows() {
    let dir = TempDir::new("cli-traffic");
    let mut d = start(&dir);
    let rx = |d: &Uplane| u(&d.interface("in").unwrap(), "rx_packets");

    // Growth seen several times, with every other show asked in between.
    let mut last = rx(&d);
    for round in 0..3 {
        last = wait_for(&format!("rx_packets to grow (round {round})"), || {
            for cmd in [
                &["show", "runtime"][..],
                &["show", "errors"],
                &["show", "buffers"],
                &["show", "ip", "fib"],
                &["show", "hardware-interfaces"],
            ] {
                let _: Value = d.json(cmd);
            }
            let now = rx(&d);
            (now > last).then_some(now)
        });
    }
    let fwd = vectors(&d, "ip4-lookup");
    wait_for("ip4-lookup to see more packets", || {
        (vectors(&d, "ip4-lookup") > fwd).then_some(())
    });

    // clear runtime while packets arrive: the counters start again from zero and grow.
    d.ok(&["clear", "runtime"]);
    let after_clear = vectors(&d, "pcap-input");
    assert!(after_clear < last, "clear runtime did not clear");
    wait_for("pcap-input vectors to grow after clear", || {
        (vectors(&d, "pcap-input") > after_clear).then_some(())
    });

    // trace catches live packets.
    d.ok(&["trace", "add", "pcap-input", "3"]);
    let tr = wait_for("traced packets", || {
        let tr = d.json(&["show", "trace"]);
        (u(&tr, "packets") >= 1).then_some(tr)
    });
    assert!(tr["text"].as_str().unwrap().contains("pcap-input"), "{tr}");
    assert!(d.ok(&["show", "trace"]).contains("pcap-input"));
    d.ok(&["clear", "trace"]);

    // pcap trace catches live packets too.
    let file = dir.0.join("live.pcap");
    d.ok(&["pcap", "trace", "rx", "file", file.to_str().unwrap()]);
    let start = rx(&d);
    wait_for("packets during pcap trace", || {
        (rx(&d) > start + 2).then_some(())
    });
    let t = d.ok(&["pcap", "trace", "off"]);
    let written: u64 = t
        .split_whitespace()
        .skip_while(|w| *w != "off:")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{t}"));
    assert!(written > 0, "{t}");
    assert!(std::fs::metadata(&file).unwrap().len() > 24, "{t}");

    // SIGTERM in the middle of it: a clean exit, no socket left.
    let st = d.stop();
    assert!(st.success(), "uplane exited with {st}:\n{}", d.stderr());
    assert!(!d.socket.exists());
}
