//! The XDP program on synthetic frames (`BPF_PROG_TEST_RUN`), and attach/detach on a veth.
//! Needs root (CAP_BPF, CAP_NET_ADMIN).

use testkit::{require_root, Lab};
use xdp::{AttachMode, Policy, Prefix, Verdict, XdpCounters, XdpProgram};

const V4: [u8; 2] = [0x08, 0x00];
const V6: [u8; 2] = [0x86, 0xdd];
const ARP: [u8; 2] = [0x08, 0x06];
const DOT1Q: [u8; 2] = [0x81, 0x00];
const DOT1AD: [u8; 2] = [0x88, 0xa8];

/// Ethernet header, then `tags` VLAN tags (outer first), then `ethertype`.
fn eth(tags: &[[u8; 2]], ethertype: [u8; 2]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
    for (i, t) in tags.iter().enumerate() {
        f.extend_from_slice(t);
        f.extend_from_slice(&[0, 10 + i as u8]); // TCI: VLAN 10, 11
    }
    f.extend_from_slice(&ethertype);
    f
}

fn ipv4(tags: &[[u8; 2]], src: [u8; 4]) -> Vec<u8> {
    let mut f = eth(tags, V4);
    f.extend_from_slice(&[0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&[10, 99, 0, 1]);
    f.extend_from_slice(&[0, 1, 0, 2, 0, 8, 0, 0]); // UDP
    f
}

fn ipv6(tags: &[[u8; 2]], src: &str) -> Vec<u8> {
    let src: std::net::Ipv6Addr = src.parse().unwrap();
    let mut f = eth(tags, V6);
    f.extend_from_slice(&[0x60, 0, 0, 0, 0, 8, 17, 64]);
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(
        &"2001:db8:99::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    f.extend_from_slice(&[0, 1, 0, 2, 0, 8, 0, 0]);
    f
}

fn arp() -> Vec<u8> {
    let mut f = eth(&[], ARP);
    f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 2, 10, 99, 0, 2]);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&[10, 99, 0, 1]);
    f
}

fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

/// Nothing is registered in the XSKMAP under test run, so "to uplane" comes back as
/// `XDP_PASS` counted `pass_no_socket` (the redirect's fallback action).
const TO_UPLANE: Verdict = Verdict::Pass;

#[test]
fn blocked_sources_are_dropped_and_counted() {
    require_root!();
    let mut prog = XdpProgram::load().unwrap();
    prog.block_add(p("10.66.0.0/16")).unwrap();
    prog.block_add(p("192.0.2.7")).unwrap();
    prog.block_add(p("2001:db8:bad::/48")).unwrap();

    let cases: Vec<(Vec<u8>, Verdict)> = vec![
        (ipv4(&[], [10, 66, 1, 2]), Verdict::Drop),
        (ipv4(&[DOT1Q], [10, 66, 200, 9]), Verdict::Drop),
        (ipv4(&[DOT1AD, DOT1Q], [192, 0, 2, 7]), Verdict::Drop),
        (ipv4(&[], [10, 67, 0, 1]), TO_UPLANE),
        (ipv4(&[], [192, 0, 2, 8]), TO_UPLANE),
        (ipv4(&[DOT1Q], [10, 1, 1, 1]), TO_UPLANE),
        (ipv6(&[], "2001:db8:bad::1"), Verdict::Drop),
        (ipv6(&[DOT1Q], "2001:db8:bad:ffff::1"), Verdict::Drop),
        (ipv6(&[DOT1AD, DOT1Q], "2001:db8:bad::2"), Verdict::Drop),
        (ipv6(&[], "2001:db8:bae::1"), TO_UPLANE),
        (ipv6(&[DOT1AD, DOT1Q], "fe80::1"), TO_UPLANE),
    ];
    for (frame, want) in &cases {
        assert_eq!(prog.test_run(frame).unwrap(), *want, "{frame:02x?}");
    }
    let c = prog.counters().unwrap();
    assert_eq!(
        c,
        XdpCounters {
            drop_blocklist_v4: 3,
            drop_blocklist_v6: 3,
            pass_no_socket: 5,
            ..XdpCounters::default()
        }
    );
    let list = prog.blocklist().unwrap();
    assert_eq!(
        list,
        vec![
            (p("10.66.0.0/16"), 2),
            (p("192.0.2.7/32"), 1),
            (p("2001:db8:bad::/48"), 3),
        ]
    );

    // Removed: the same source goes through; removing twice says it was not there.
    assert!(prog.block_del(p("10.66.0.0/16")).unwrap());
    assert!(!prog.block_del(p("10.66.0.0/16")).unwrap());
    assert_eq!(
        prog.test_run(&ipv4(&[], [10, 66, 1, 2])).unwrap(),
        TO_UPLANE
    );
    // Adding an existing prefix keeps its hit count.
    prog.block_add(p("192.0.2.7")).unwrap();
    assert!(prog.blocklist().unwrap().contains(&(p("192.0.2.7/32"), 1)));
}

#[test]
fn default_prefix_blocks_a_whole_family() {
    require_root!();
    let mut prog = XdpProgram::load().unwrap();
    prog.block_add(p("0.0.0.0/0")).unwrap();
    assert_eq!(
        prog.test_run(&ipv4(&[], [1, 2, 3, 4])).unwrap(),
        Verdict::Drop
    );
    assert_eq!(prog.test_run(&ipv6(&[], "::1")).unwrap(), TO_UPLANE);
}

#[test]
fn truncated_and_overtagged_frames_are_parse_errors() {
    require_root!();
    let mut prog = XdpProgram::load().unwrap();
    prog.block_add(p("10.0.0.0/8")).unwrap();
    let full4 = ipv4(&[DOT1Q], [10, 0, 0, 1]);
    let full6 = ipv6(&[], "2001:db8::1");
    let mut cases: Vec<Vec<u8>> = Vec::new();
    // The kernel's test run refuses frames under 14 bytes; from there on, every cut of an
    // IPv4-in-VLAN frame before the end of the IPv4 header, and of an IPv6 header.
    for len in 14..(14 + 4 + 20) {
        cases.push(full4[..len].to_vec());
    }
    for len in 14..(14 + 40) {
        cases.push(full6[..len].to_vec());
    }
    // Three tags in front of IP.
    cases.push(ipv4(&[DOT1AD, DOT1Q, DOT1Q], [10, 0, 0, 1]));
    // An IPv4 header with IHL 4, and a version that is not 4.
    let mut bad_ihl = ipv4(&[], [11, 0, 0, 1]);
    bad_ihl[14] = 0x44;
    cases.push(bad_ihl);
    let mut bad_ver = ipv4(&[], [11, 0, 0, 1]);
    bad_ver[14] = 0x65;
    cases.push(bad_ver);
    for f in &cases {
        assert_eq!(prog.test_run(f).unwrap(), Verdict::Drop, "{f:02x?}");
    }
    let c = prog.counters().unwrap();
    assert_eq!(c.drop_parse_error, cases.len() as u64, "{c:?}");
    assert_eq!(c.drops(), cases.len() as u64);
    // A VLAN-tagged frame whose tag is complete but carries no IP is not an error.
    let tagged_arp = eth(&[DOT1Q], ARP);
    assert_eq!(prog.test_run(&tagged_arp).unwrap(), TO_UPLANE);
}

#[test]
fn policy_sends_non_ip_to_the_kernel() {
    require_root!();
    let mut prog = XdpProgram::load().unwrap();
    assert_eq!(prog.test_run(&arp()).unwrap(), TO_UPLANE);
    assert_eq!(prog.counters().unwrap().pass_no_socket, 1);
    prog.set_policy(Policy::PassNonIp).unwrap();
    assert_eq!(prog.test_run(&arp()).unwrap(), Verdict::Pass);
    assert_eq!(prog.test_run(&ipv4(&[], [1, 1, 1, 1])).unwrap(), TO_UPLANE);
    let c = prog.counters().unwrap();
    assert_eq!((c.pass, c.pass_no_socket), (1, 2), "{c:?}");
    prog.set_policy(Policy::RedirectAll).unwrap();
    prog.test_run(&arp()).unwrap();
    assert_eq!(prog.counters().unwrap().pass, 1);
}

fn xdp_attached(lab: &Lab, ns: &str, dev: &str) -> bool {
    lab.ip(ns, &["link", "show", dev])
        .unwrap()
        .contains("prog/xdp")
}

#[test]
fn attaches_native_on_veth_and_detaches_on_drop() {
    require_root!();
    let mut lab = Lab::new();
    lab.netns("a").unwrap();
    lab.netns("b").unwrap();
    lab.veth("a", "va", "b", "vb").unwrap();
    let prog = lab
        .in_netns("a", || XdpProgram::attach("va"))
        .unwrap()
        .unwrap();
    assert_eq!(prog.attached(), Some(("va", AttachMode::Native)));
    assert!(xdp_attached(&lab, "a", "va"));
    drop(prog);
    assert!(!xdp_attached(&lab, "a", "va"), "detached on drop");
    // Attach again (a restart): the interface is clean.
    let prog = lab
        .in_netns("a", || XdpProgram::attach("va"))
        .unwrap()
        .unwrap();
    assert!(xdp_attached(&lab, "a", "va"));
    // A second program on the same interface is refused, not silently swapped in.
    let second = lab.in_netns("a", || XdpProgram::attach("va")).unwrap();
    assert!(second.is_err());
    drop(prog);
    assert!(!xdp_attached(&lab, "a", "va"));
    let bad = lab.in_netns("a", || XdpProgram::attach("nosuch0")).unwrap();
    let msg = bad.unwrap_err().to_string();
    assert!(msg.contains("nosuch0"), "{msg}");
}

/// A process that dies without running destructors (SIGKILL) leaves nothing attached: the
/// BPF link goes with its last descriptor.
#[test]
fn a_killed_process_leaves_the_interface_clean() {
    require_root!();
    if let Ok(path) = std::env::var("UPLANE_XDP_CHILD_NETNS") {
        // The child: attach, say so, then wait to be killed.
        sys::netns::enter(std::path::Path::new(&path)).unwrap();
        let _prog = XdpProgram::attach("va").unwrap();
        println!("ATTACHED");
        std::thread::sleep(std::time::Duration::from_secs(60));
        return;
    }
    let mut lab = Lab::new();
    lab.netns("a").unwrap();
    lab.netns("b").unwrap();
    lab.veth("a", "va", "b", "vb").unwrap();
    let ns = format!("/var/run/netns/{}", lab.ns("a").unwrap());
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_killed_process_leaves_the_interface_clean",
            "--nocapture",
        ])
        .env("UPLANE_XDP_CHILD_NETNS", &ns)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while !xdp_attached(&lab, "a", "va") && t0.elapsed().as_secs() < 20 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(xdp_attached(&lab, "a", "va"), "child attached");
    child.kill().unwrap(); // SIGKILL: no destructors
    child.wait().unwrap();
    let t0 = std::time::Instant::now();
    while xdp_attached(&lab, "a", "va") && t0.elapsed().as_secs() < 5 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!xdp_attached(&lab, "a", "va"), "the kernel detached it");
    let prog = lab
        .in_netns("a", || XdpProgram::attach("va"))
        .unwrap()
        .unwrap();
    assert!(prog.attached().is_some());
}
