//! The pcap reader over real captures: every file in `/work/shared/pcaps` (packet counts from
//! its README, errors for the broken ones), and the copies in `tests/data` that make the
//! crate's tests stand alone.

use std::path::{Path, PathBuf};

use io::pcap::{
    At, Format, LinkType, MacPair, NormalizeError, PcapReader, ReadError, ReadErrorKind,
    TsResolution,
};

/// What reading a file must give.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// This many packets, all of this link type (None: mixed), then a clean end.
    Packets(u64, Option<LinkType>),
    /// The file header is refused.
    HeaderError,
    /// `good` packets, then an error naming record `good` at byte `offset`.
    RecordError { good: u64, offset: u64 },
}

const E: Option<LinkType> = Some(LinkType::ETHERNET);

/// Every file of the shared capture set, with the count its README states.
const SHARED: &[(&str, Expect)] = &[
    ("zeek_http-bro.org.pcap", Expect::Packets(751, E)),
    ("zeek_wikipedia.pcap", Expect::Packets(136, E)),
    ("suricata_smb2-async-read.pcap", Expect::Packets(3138, E)),
    ("zeek_irc-dcc-send.pcapng", Expect::Packets(1184, E)),
    ("zeek_ssh.pcap", Expect::Packets(1797, E)),
    ("arkime_wireshark-retrans.pcap", Expect::Packets(108, E)),
    ("zeek_tcp-ssh-dups.pcap", Expect::Packets(377, E)),
    (
        "suricata_syn_retransmit_with_ts-vlan.pcap",
        Expect::Packets(254, E),
    ),
    ("zeek_tcp-reassembly.pcap", Expect::Packets(117, E)),
    ("zeek_ftp-ipv6.pcap", Expect::Packets(136, E)),
    (
        "gopacket_test_loopback-null-ipv6.pcap",
        Expect::Packets(24, Some(LinkType::NULL)),
    ),
    ("arkime_twovlan-qinq.pcap", Expect::Packets(6, E)),
    ("zeek_vlan-qinqinq.pcap", Expect::Packets(14, E)),
    (
        "suricata_tcp-empty-sack-rawip.pcap",
        Expect::Packets(42, Some(LinkType::RAW)),
    ),
    ("zeek_tcp-window-scale-range.pcap", Expect::Packets(5, E)),
    ("suricata_syn-flood.pcap", Expect::Packets(200, E)),
    ("zeek_nmap-vsn-scan.pcap", Expect::Packets(547, E)),
    ("zeek_ipv4-fragmented-tcp.pcap", Expect::Packets(5, E)),
    (
        "suricata_frag-eth-vlan-ipv6-tcp.pcap",
        Expect::Packets(3, E),
    ),
    // Broken only above the link layer (TCP): one well-formed 64-byte record.
    ("tcpdump_heapoverflow-tcp_print.pcap", Expect::Packets(1, E)),
    ("tcpdump_bigtcp-ipv4.pcap", Expect::Packets(1, E)),
    // README "2 packets": one garbage-but-framed record, then a 1.4 GB captured length.
    (
        "suricata_fuzz-corrupt-record.pcap",
        Expect::RecordError {
            good: 1,
            offset: 228,
        },
    ),
    ("libpcap_pcap-invalid-version-1.pcap", Expect::HeaderError),
    ("libpcap_shb-option-too-long.pcapng", Expect::HeaderError),
    // README "11 packets" counts tshark records: 8 packet blocks + 3 custom blocks
    // (capinfos: 8 packets). Custom blocks are not packets.
    (
        "gopacket_pcapng-be-test202.pcapng",
        Expect::Packets(8, None),
    ),
    (
        "tcpdump_mptcp-v1-sll.pcap",
        Expect::Packets(20, Some(LinkType::LINUX_SLL)),
    ),
    (
        "tcpdump_tcp-handshake-nano-sll.pcap",
        Expect::Packets(3, Some(LinkType::LINUX_SLL)),
    ),
    (
        "suricata_decode-sll2-http.pcap",
        Expect::Packets(159, Some(LinkType::LINUX_SLL2)),
    ),
    (
        "zeek_nflog-http.pcap",
        Expect::Packets(13, Some(LinkType(239))),
    ),
    (
        "suricata_http-ipv6-null.pcap",
        Expect::Packets(14, Some(LinkType::NULL)),
    ),
    ("suricata_tcp-async-one-sided.pcap", Expect::Packets(139, E)),
    ("zeek_tcp-missing-syn.pcap", Expect::Packets(21, E)),
    ("zeek_tcp-handshake-reorder.pcap", Expect::Packets(14, E)),
];

/// The copies in `tests/data`.
const LOCAL: &[(&str, Expect)] = &[
    (
        "tcpdump_tcp-handshake-nano-sll.pcap",
        Expect::Packets(3, Some(LinkType::LINUX_SLL)),
    ),
    ("tcpdump_heapoverflow-tcp_print.pcap", Expect::Packets(1, E)),
    ("libpcap_pcap-invalid-version-1.pcap", Expect::HeaderError),
    ("libpcap_shb-option-too-long.pcapng", Expect::HeaderError),
    (
        "gopacket_pcapng-be-test202.pcapng",
        Expect::Packets(8, None),
    ),
    (
        "suricata_http-ipv6-null.pcap",
        Expect::Packets(14, Some(LinkType::NULL)),
    ),
    (
        "suricata_fuzz-corrupt-record.pcap",
        Expect::RecordError {
            good: 1,
            offset: 228,
        },
    ),
    (
        "suricata_tcp-empty-sack-rawip.pcap",
        Expect::Packets(42, Some(LinkType::RAW)),
    ),
    (
        "suricata_frag-eth-vlan-ipv6-tcp.pcap",
        Expect::Packets(3, E),
    ),
    (
        "suricata_decode-sll2-http.first6.pcap",
        Expect::Packets(6, Some(LinkType::LINUX_SLL2)),
    ),
    (
        "zeek_nflog-http.pcap",
        Expect::Packets(13, Some(LinkType(239))),
    ),
    ("zeek_tcp-window-scale-range.pcap", Expect::Packets(5, E)),
    ("zeek_irc-dcc-send.first8.pcapng", Expect::Packets(8, E)),
];

fn local_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn shared_dir() -> PathBuf {
    std::env::var_os("UPLANE_PCAPS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/pcaps"))
}

/// What a whole read of one file gave.
#[derive(Debug, Default)]
struct Summary {
    packets: u64,
    link_types: Vec<LinkType>,
    normalized: u64,
    first_ts: Option<u64>,
    last_ts: u64,
}

/// Reads a whole file, normalizing every record; returns the summary and the error, if any.
fn read_file(path: &Path) -> Result<(Summary, Option<ReadError>), ReadError> {
    let mut reader = PcapReader::open(path)?;
    let mut s = Summary::default();
    let macs = MacPair {
        src: [2, 0, 0, 0, 0, 1],
        dst: [2, 0, 0, 0, 0, 2],
    };
    let mut frame = vec![0u8; io::pcap::MAX_CAPTURE_LEN + 14];
    loop {
        match reader.next_record() {
            Ok(Some(r)) => {
                s.packets += 1;
                if !s.link_types.contains(&r.link_type) {
                    s.link_types.push(r.link_type);
                }
                s.first_ts.get_or_insert(r.timestamp_ns);
                s.last_ts = r.timestamp_ns;
                match r.to_ethernet(&macs) {
                    Ok(n) => {
                        let len = n.copy_to(&mut frame).unwrap();
                        assert!(len >= 14);
                        s.normalized += 1;
                    }
                    Err(NormalizeError::UnknownLinkType(l)) => assert_eq!(l, r.link_type),
                    Err(e) => panic!("{}: record {}: {e}", path.display(), s.packets - 1),
                }
            }
            Ok(None) => {
                assert_eq!(reader.records_read(), s.packets);
                return Ok((s, None));
            }
            Err(e) => {
                assert!(
                    matches!(reader.next_record(), Ok(None)),
                    "reader finished after error"
                );
                return Ok((s, Some(e)));
            }
        }
    }
}

fn check(dir: &Path, name: &str, expect: Expect) {
    let path = dir.join(name);
    let res = read_file(&path);
    match (expect, res) {
        (Expect::Packets(n, link), Ok((s, None))) => {
            assert_eq!(s.packets, n, "{name}: packet count");
            if let Some(link) = link {
                assert_eq!(s.link_types, vec![link], "{name}: link types");
                let want = if link.is_normalizable() { n } else { 0 };
                assert_eq!(s.normalized, want, "{name}: records normalized to Ethernet");
            }
        }
        (Expect::HeaderError, Err(e)) => {
            assert_eq!(e.at, At::FileHeader, "{name}: {e}");
            println!("{name}: {e}");
        }
        (Expect::RecordError { good, offset }, Ok((s, Some(e)))) => {
            assert_eq!(s.packets, good, "{name}: packets before the error");
            assert_eq!(
                e.at,
                At::Record {
                    index: good,
                    offset
                },
                "{name}: {e}"
            );
            println!("{name}: {e}");
        }
        (expect, got) => panic!("{name}: expected {expect:?}, got {got:?}"),
    }
}

#[test]
fn local_copies() {
    for (name, expect) in LOCAL {
        check(&local_dir(), name, *expect);
    }
}

#[test]
fn every_shared_capture() {
    let dir = shared_dir();
    let Ok(listing) = std::fs::read_dir(&dir) else {
        println!(
            "SKIPPED every_shared_capture: capture directory {} not found \
             (set UPLANE_PCAPS to point at it); only tests/data was checked",
            dir.display()
        );
        return;
    };
    let mut present = Vec::new();
    for entry in listing {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".pcap") || name.ends_with(".pcapng") {
            assert!(
                SHARED.iter().any(|(n, _)| *n == name),
                "{name} in {} has no expectation in SHARED: add its README count",
                dir.display()
            );
            present.push(name);
        }
    }
    for (name, expect) in SHARED {
        if !present.iter().any(|p| p == name) {
            println!("MISSING {name} in {}: not checked", dir.display());
            continue;
        }
        check(&dir, name, *expect);
    }
}

#[test]
fn nanosecond_sll_timestamps() {
    let mut r = PcapReader::open(local_dir().join("tcpdump_tcp-handshake-nano-sll.pcap")).unwrap();
    assert!(matches!(
        r.format(),
        Format::Pcap {
            resolution: TsResolution::Nano,
            ..
        }
    ));
    let first = r.next_record().unwrap().unwrap().timestamp_ns;
    let mut last = first;
    while let Some(rec) = r.next_record().unwrap() {
        last = rec.timestamp_ns;
    }
    // README: capture span 0.127609669 seconds.
    assert_eq!(last - first, 127_609_669);
}

#[test]
fn pcapng_microsecond_timestamps() {
    let path = shared_dir().join("zeek_irc-dcc-send.pcapng");
    if !path.exists() {
        println!(
            "SKIPPED pcapng_microsecond_timestamps: {} not found",
            path.display()
        );
        return;
    }
    let (s, err) = read_file(&path).unwrap();
    assert!(err.is_none());
    // README: capture span 169.874953 seconds.
    assert_eq!(s.last_ts - s.first_ts.unwrap(), 169_874_953_000);
}

#[test]
fn big_endian_pcapng_mixes_link_types() {
    let (s, err) = read_file(&local_dir().join("gopacket_pcapng-be-test202.pcapng")).unwrap();
    assert!(err.is_none());
    assert_eq!(s.link_types, vec![LinkType::ETHERNET, LinkType::NULL]);
    assert_eq!(s.normalized, 8);
}

#[test]
fn corrupt_record_is_named() {
    let path = local_dir().join("suricata_fuzz-corrupt-record.pcap");
    let (_, err) = read_file(&path).unwrap();
    let e = err.unwrap();
    assert!(
        matches!(
            e.kind,
            ReadErrorKind::CaptureTooLarge {
                len: 1_409_179_648,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.record_index(), Some(1));
    assert_eq!(e.offset(), Some(228));
    assert_eq!(
        e.to_string(),
        "record 1 at byte 228: captured length 1409179648 is larger than the cap of 262144 bytes"
    );
}

#[test]
fn invalid_version_is_named() {
    let e = PcapReader::open(local_dir().join("libpcap_pcap-invalid-version-1.pcap")).unwrap_err();
    assert!(
        matches!(
            e.kind,
            ReadErrorKind::UnsupportedVersion { major: 1, minor: 4 }
        ),
        "{e}"
    );
}

#[test]
fn shb_option_too_long_is_named() {
    let e = PcapReader::open(local_dir().join("libpcap_shb-option-too-long.pcapng")).unwrap_err();
    assert!(
        matches!(
            e.kind,
            ReadErrorKind::TrailerMismatch { .. } | ReadErrorKind::BadOption { .. }
        ),
        "{e}"
    );
}

#[test]
fn missing_file_names_the_path() {
    let e = PcapReader::open("/nonexistent/x.pcap").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("opening /nonexistent/x.pcap: I/O error"),
        "{e}"
    );
}
