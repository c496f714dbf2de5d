//! uplane over AF_XDP with its own XDP program, routing between two Linux hosts in network
//! namespaces: the checks every driver gets (`netlab::routes_both_families`: ARP and ND,
//! ping and ping -6, TTL/hop limit exceeded, fragmentation needed / packet too big, iperf3,
//! kernel ring drops reported) and the XDP block list, which drops a source in the kernel
//! before uplane sees it. Needs root, clang-built BPF (scripts/setup).

mod netlab;

use netlab::{ctl, in_ns, lab, rx_packets, Driver, Router};
use std::time::Duration;
use testkit::Lab;

fn start(lab: &Lab, tag: &str, extra: &str) -> Router {
    netlab::start_router(lab, Driver::AfXdp, &format!("xdp-{tag}"), extra)
}

#[test]
fn routes_over_af_xdp_and_blocks_in_xdp() {
    testkit::require_root!();
    let lab = lab();
    let r = start(&lab, "fwd", "");
    netlab::routes_both_families(&lab, &r, Driver::AfXdp);

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
