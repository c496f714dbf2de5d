//! TAP against the host kernel: the kernel in a test namespace pings an address behind the
//! TAP, and a hand-written responder answers ARP and ICMP echo through `rx_burst` /
//! `tx_burst`.

mod common;

use common::{pool, serve, Responder};
use io::device::{Device, LinkState};
use io::tap::Tap;
use std::process::Command;
use std::time::Duration;
use testkit::{require_root, Lab};

#[test]
fn host_pings_through_tap() {
    require_root!();
    let mut lab = Lab::new();
    let ns = lab.netns("h").unwrap();
    let mut tap = lab
        .in_netns("h", || Tap::create("uptap0"))
        .unwrap()
        .unwrap();
    assert_eq!(tap.name(), "uptap0");
    lab.addr("h", "uptap0", "10.77.0.1/24").unwrap();
    let info = tap.hw_info().to_string();
    assert!(
        info.contains("tap") && info.contains("TUNSETOFFLOAD 0"),
        "{info}"
    );
    assert!(tap.mtu() >= 1500);

    let (_pool, mut cache) = pool(1024);
    let mut resp = Responder::new([0x02, 0, 0, 0, 0x77, 2], "10.77.0.2");
    let mut ping = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns,
            "ping",
            "-c",
            "3",
            "-i",
            "0.2",
            "-W",
            "2",
            "10.77.0.2",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("ping runs");
    let mut status = None;
    let finished = serve(
        &mut tap,
        &mut cache,
        &mut resp,
        Duration::from_secs(15),
        |_| {},
        || {
            if status.is_none() {
                status = ping.try_wait().unwrap();
            }
            status.is_some()
        },
    );
    if !finished {
        let _ = ping.kill();
        let _ = ping.wait();
    }
    let out = ping.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(finished && out.status.success(), "ping failed: {text}");
    assert!(text.contains("3 received"), "{text}");
    assert_eq!(resp.echo_replies, 3);
    assert!(resp.arp_replies >= 1);

    let st = tap.stats();
    let rx = st.rx_total();
    let tx = st.tx_total();
    assert!(rx.packets >= 4, "{rx:?}");
    assert_eq!(tx.packets, resp.echo_replies + resp.arp_replies, "{tx:?}");
    assert_eq!(tx.drops, 0);
    assert_eq!(tap.link_state(), LinkState::Up);
    tap.set_admin_up(false).unwrap();
    assert_eq!(tap.link_state(), LinkState::Down);
    drop(tap);
    drop(lab);
    assert!(!testkit::leftover_namespaces().contains(&ns));
}
