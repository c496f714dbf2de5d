//! uplane over AF_XDP with its own XDP program, routing between two Linux hosts in network
//! namespaces: forwarding (ping, TTL exceeded, iperf3) and the XDP block list, which drops
//! a source in the kernel before uplane sees it. Needs root, clang-built BPF (scripts/setup).

mod netlab;

use netlab::{ctl, in_ns, iperf3, lab, rx_packets, Router};
use std::time::Duration;
use testkit::Lab;

const XDP_BODY: &str = "[[interface]]\nname = \"lan\"\ndriver = \"af_xdp\"\nhost-if = \"lan\"\naddress = [\"10.1.0.1/24\"]\n\
    [[interface]]\nname = \"wan\"\ndriver = \"af_xdp\"\nhost-if = \"wan\"\naddress = [\"10.2.0.1/24\"]\n";

fn start(lab: &Lab, tag: &str, extra: &str) -> Router {
    netlab::start(lab, &format!("xdp-{tag}"), &format!("{XDP_BODY}{extra}"))
}

#[test]
fn routes_over_af_xdp_and_blocks_in_xdp() {
    testkit::require_root!();
    let lab = lab();
    let r = start(&lab, "fwd", "");
    let (ok, hw) = ctl(&r, &["show", "hardware-interfaces"]);
    assert!(
        ok && hw.contains("AF_XDP"),
        "not running AF_XDP (fell back?):\n{hw}"
    );

    let (ok, out) = in_ns(
        &lab,
        "h1",
        &["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.2.0.2"],
    );
    assert!(ok, "ping across failed:\n{out}");
    let (_, out) = in_ns(
        &lab,
        "h1",
        &["ping", "-c", "1", "-t", "1", "-W", "2", "10.2.0.2"],
    );
    assert!(out.contains("Time to live exceeded"), "{out}");

    // A 5-second TCP transfer across completes; both ends count the same bytes received.
    let (srv, cli_view, _) = iperf3(&lab, "10.2.0.2", 5, &[]);
    assert!(srv > 10_000_000, "only {srv} bytes in 5 s");
    assert_eq!(srv, cli_view);

    // Block h1 in XDP: its pings die in the kernel, counted there, never reaching uplane.
    let (ok, out) = ctl(&r, &["xdp", "block", "add", "10.1.0.2/32"]);
    assert!(ok, "{out}");
    let before = rx_packets(&r, "lan");
    let (ok, _) = in_ns(
        &lab,
        "h1",
        &["ping", "-c", "3", "-i", "0.2", "-W", "1", "10.2.0.2"],
    );
    assert!(!ok, "blocked source still got through");
    let (_, xdp) = ctl(&r, &["show", "xdp"]);
    assert!(
        xdp.contains("block 10.1.0.2/32: 3 packets dropped"),
        "{xdp}"
    );
    // h1 may refresh its ARP entry meanwhile (ARP is not IP: not blocked); the 3 pings
    // themselves must not arrive.
    let seen = rx_packets(&r, "lan") - before;
    assert!(seen < 3, "uplane saw {seen} packets while h1 was blocked");
    let (ok, out) = ctl(&r, &["xdp", "block", "del", "10.1.0.2/32"]);
    assert!(ok, "{out}");
    let (ok, out) = in_ns(
        &lab,
        "h1",
        &["ping", "-c", "2", "-i", "0.2", "-W", "2", "10.2.0.2"],
    );
    assert!(ok, "unblocked ping failed:\n{out}");
}

/// The host kernel beside uplane, through a TAP: it pings uplane's TAP address, and a TCP
/// connection from h1 to uplane's own lan address, which no uplane node handles, is punted
/// to a listener in the host kernel and answered through uplane.
#[test]
fn host_kernel_through_tap_and_punt() {
    testkit::require_root!();
    let lab = lab();
    let r = start(
        &lab,
        "punt",
        "[[interface]]\nname = \"host\"\ndriver = \"tap\"\nhost-if = \"uphost\"\naddress = [\"169.254.10.1/30\"]\n\
         [punt]\ninterface = \"host\"\n",
    );
    // The host side of the TAP, in the router namespace where uplane created it.
    lab.addr("router", "uphost", "169.254.10.2/30").unwrap();
    lab.up("router", "uphost").unwrap();
    let (ok, out) = in_ns(
        &lab,
        "router",
        &["ping", "-c", "2", "-i", "0.2", "-W", "2", "169.254.10.1"],
    );
    assert!(
        ok,
        "the host kernel cannot ping uplane through the TAP:\n{out}"
    );

    // The host owns uplane's lan address for punted traffic, and reaches h1 via uplane.
    lab.addr("router", "lo", "10.1.0.1/32").unwrap();
    lab.route("router", "10.1.0.0/24", "169.254.10.1").unwrap();
    let server = std::process::Command::new("ip")
        .args(["netns", "exec", lab.ns("router").unwrap(), "python3", "-c",
            "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('10.1.0.1',5000))\ns.listen()\nc,_=s.accept()\nc.sendall(b'hello from the host kernel')\nc.close()"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let (ok, out) = in_ns(&lab, "h1", &["python3", "-c",
        "import socket\ns=socket.create_connection(('10.1.0.1',5000),timeout=5)\nprint(s.recv(100).decode())"]);
    let mut server = server;
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        ok && out.contains("hello from the host kernel"),
        "punted TCP failed:\n{out}"
    );
    let (_, errs) = ctl(&r, &["show", "errors"]);
    assert!(errs.contains("punted to the host kernel"), "{errs}");
}
