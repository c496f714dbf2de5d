//! The pcap device: rx replays every record of a capture as an Ethernet frame, tx writes a
//! pcap that reads back equal and that tcpdump opens; corrupt captures are refused at open
//! with the record named; `pcap trace` writes what the device nodes and `error-drop` see.

use buf::{BufferCache, BufferPool, Frame, PoolConfig};
use graph::{Ctx, GraphBuilder, Node, NodeError, NodeInfo, NodeKind};
use io::capture::{Capture, Points};
use io::device::{self, Device, DeviceInput, DeviceOutput};
use io::pcap::{
    MacPair, PcapDevice, PcapDeviceConfig, PcapReader, TsResolution, PCAP_INPUT, PCAP_OUTPUT,
};
use io::pg::Timing;
use std::path::{Path, PathBuf};
use std::process::Command;

const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x42];

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("uplane-pcapdev-{}-{name}", std::process::id()))
}

/// Every record of `path` as the Ethernet frame the device should produce.
fn expected_frames(path: &Path) -> Vec<Vec<u8>> {
    let macs = MacPair {
        src: [0x02, 0, 0, 0, 0, 0xfe],
        dst: MAC,
    };
    let mut r = PcapReader::open(path).unwrap();
    let mut out = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        let n = rec.to_ethernet(&macs).unwrap();
        let mut v = vec![0; n.len()];
        n.copy_to(&mut v).unwrap();
        out.push(v);
    }
    out
}

fn rx_all(dev: &mut PcapDevice, cache: &mut BufferCache, max_bursts: usize) -> Vec<Vec<u8>> {
    let mut frame = Frame::new();
    let mut got = Vec::new();
    for _ in 0..max_bursts {
        let n = dev.rx_burst(0, cache, &mut frame);
        for b in frame.drain() {
            got.push(cache.pool().get(&b).data().to_vec());
            cache.free(b);
        }
        if n == 0 {
            break;
        }
    }
    got
}

fn tcpdump_count(path: &Path) -> Option<usize> {
    let out = match Command::new("tcpdump").arg("-nr").arg(path).output() {
        Ok(o) => o,
        Err(e) => {
            println!("SKIPPED tcpdump check: tcpdump is not installed ({e})");
            return None;
        }
    };
    assert!(
        out.status.success(),
        "tcpdump -r {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    // One line per packet; some decoders add indented continuation lines.
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.starts_with(char::is_whitespace))
            .count(),
    )
}

#[test]
fn rx_yields_every_record_as_ethernet() {
    let pool = BufferPool::new(&PoolConfig::new(1024)).unwrap();
    let mut cache = BufferCache::new(pool.clone());
    for file in [
        "suricata_tcp-empty-sack-rawip.pcap",
        "tcpdump_tcp-handshake-nano-sll.pcap",
        "zeek_irc-dcc-send.first8.pcapng",
        "suricata_decode-sll2-http.first6.pcap",
        "zeek_tcp-window-scale-range.pcap",
    ] {
        let path = data(file);
        let want = expected_frames(&path);
        let mut cfg = PcapDeviceConfig::new();
        cfg.rx_file = Some(path.clone());
        cfg.mac = MAC;
        let mut dev = PcapDevice::open(&cfg).unwrap();
        assert_eq!(dev.rx_records(), want.len(), "{file}");
        assert!(
            rx_all(&mut dev, &mut cache, 10).is_empty(),
            "{file}: nothing before admin up"
        );
        dev.set_admin_up(true).unwrap();
        let got = rx_all(&mut dev, &mut cache, 100);
        assert_eq!(got, want, "{file}");
        assert!(dev.rx_done());
        let st = dev.stats().rx_total();
        assert_eq!(st.packets, want.len() as u64);
        assert_eq!(st.bytes, want.iter().map(|f| f.len() as u64).sum::<u64>());
        // Once means once.
        assert!(rx_all(&mut dev, &mut cache, 10).is_empty(), "{file}");
    }
}

#[test]
fn rx_loops_and_keeps_capture_timing() {
    let pool = BufferPool::new(&PoolConfig::new(1024)).unwrap();
    let mut cache = BufferCache::new(pool.clone());
    let path = data("suricata_tcp-empty-sack-rawip.pcap");
    let n = expected_frames(&path).len();
    let mut cfg = PcapDeviceConfig::new();
    cfg.rx_file = Some(path.clone());
    cfg.rx_loop = true;
    let mut dev = PcapDevice::open(&cfg).unwrap();
    dev.set_admin_up(true).unwrap();
    let mut frame = Frame::new();
    let mut total = 0;
    for _ in 0..4 {
        total += dev.rx_burst(0, &mut cache, &mut frame);
        cache.free_frame(&mut frame);
    }
    assert!(
        total > 3 * n,
        "looping replay gave {total} of {n}-record capture"
    );
    assert!(!dev.rx_done());

    // Capture timing: the first poll may only send the records stamped like the first one.
    let first_ts = {
        let mut r = PcapReader::open(&path).unwrap();
        let mut ts = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            ts.push(rec.timestamp_ns);
        }
        ts
    };
    let span = first_ts.last().unwrap() - first_ts[0];
    assert!(span > 1_000_000, "the capture spans {span} ns");
    cfg.rx_loop = false;
    cfg.timing = Timing::Capture;
    let mut dev = PcapDevice::open(&cfg).unwrap();
    dev.set_admin_up(true).unwrap();
    let got = dev.rx_burst(0, &mut cache, &mut frame);
    cache.free_frame(&mut frame);
    assert!(
        got >= 1 && got < n,
        "first poll at capture timing sent {got} of {n}"
    );
}

#[test]
fn corrupt_captures_are_refused_at_open_naming_the_record() {
    let mut cfg = PcapDeviceConfig::new();
    cfg.rx_file = Some(data("suricata_fuzz-corrupt-record.pcap"));
    let e = PcapDevice::open(&cfg).unwrap_err().to_string();
    assert!(e.contains("rx-file") && e.contains("record"), "{e}");
    cfg.rx_file = Some(data("libpcap_pcap-invalid-version-1.pcap"));
    let e = PcapDevice::open(&cfg).unwrap_err().to_string();
    assert!(e.contains("version"), "{e}");
    cfg.rx_file = Some(data("no-such-file.pcap"));
    let e = PcapDevice::open(&cfg).unwrap_err().to_string();
    assert!(e.contains("no-such-file"), "{e}");
    // Every file of the shared corpus either opens or is refused; none panics.
    if let Ok(dir) = std::fs::read_dir("/work/shared/pcaps") {
        for f in dir.flatten() {
            cfg.rx_file = Some(f.path());
            let _ = PcapDevice::open(&cfg);
        }
    }
}

#[test]
fn tx_writes_a_pcap_that_reads_back_equal_and_tcpdump_opens() {
    let pool = BufferPool::new(&PoolConfig::new(1024)).unwrap();
    let mut cache = BufferCache::new(pool.clone());
    let src = data("suricata_http-ipv6-null.pcap");
    let want = expected_frames(&src);
    for res in [TsResolution::Micro, TsResolution::Nano] {
        let out = tmp(&format!("tx-{res:?}.pcap"));
        let mut cfg = PcapDeviceConfig::new();
        cfg.rx_file = Some(src.clone());
        cfg.tx_file = Some(out.clone());
        cfg.tx_resolution = res;
        cfg.mac = MAC;
        let mut dev = PcapDevice::open(&cfg).unwrap();
        dev.set_admin_up(true).unwrap();
        let mut frame = Frame::new();
        let got = dev.rx_burst(0, &mut cache, &mut frame);
        assert_eq!(got, want.len());
        assert_eq!(dev.tx_burst(0, &mut frame, &mut cache), got);
        assert!(frame.is_empty());
        dev.flush().unwrap();
        let st = dev.stats().tx_total();
        assert_eq!((st.packets, st.drops), (want.len() as u64, 0));

        let mut r = PcapReader::open(&out).unwrap();
        let mut back = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            assert_eq!(rec.link_type, io::pcap::LinkType::ETHERNET);
            assert_eq!(rec.original_len as usize, rec.data.len());
            back.push(rec.data.to_vec());
        }
        assert_eq!(back, want, "{res:?}");
        if let Some(n) = tcpdump_count(&out) {
            assert_eq!(n, want.len(), "tcpdump -r {}", out.display());
        }
        let _ = std::fs::remove_file(&out);
    }
}

graph::node_errors! {
    /// The test sink's one error.
    enum SinkError {
        /// Every other packet is dropped.
        Odd = "odd packet",
    }
}

/// Sends even packets to `pcap-output`, drops odd ones.
#[derive(Debug, Default)]
struct Split(u64);

impl Node for Split {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: "test-split",
            kind: NodeKind::Internal,
            next_nodes: &[PCAP_OUTPUT],
            errors: SinkError::ALL,
        }
    }
    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        for mut b in frame.drain() {
            self.0 += 1;
            if self.0.is_multiple_of(2) {
                cx.pool().meta_mut(&mut b).tx_if = 0;
                cx.enqueue(graph::Next(0), b);
            } else {
                cx.drop(b, SinkError::Odd);
            }
        }
    }
}

/// `pcap trace` at rx, tx and drop, through a graph of pcap-input → split → pcap-output /
/// error-drop.
#[test]
fn pcap_trace_records_rx_tx_and_drop() {
    let pool = BufferPool::new(&PoolConfig::new(1024)).unwrap();
    let mut b = GraphBuilder::new();
    b.add(io::pcap::device::input_node())
        .add(io::pcap::device::output_node())
        .add(Split::default());
    let mut g = b.build(BufferCache::new(pool.clone())).unwrap();
    let src = data("suricata_tcp-empty-sack-rawip.pcap");
    let n = expected_frames(&src).len();
    let mut cfg = PcapDeviceConfig::new();
    cfg.rx_file = Some(src);
    let mut pdev = PcapDevice::open(&cfg).unwrap();
    pdev.set_admin_up(true).unwrap();
    let typed = std::sync::Arc::new(std::sync::Mutex::new(pdev));
    let dev: device::SharedDevice = typed.clone();
    DeviceInput::attach(&mut g, PCAP_INPUT, dev.clone(), 0, 0, "test-split").unwrap();
    DeviceOutput::attach(&mut g, PCAP_OUTPUT, dev.clone(), 0, 0).unwrap();
    let cap = Capture::new();
    let i = g.node_index(PCAP_INPUT).unwrap();
    g.node_mut::<DeviceInput>(i)
        .unwrap()
        .set_capture(cap.clone());
    let i = g.node_index(PCAP_OUTPUT).unwrap();
    g.node_mut::<DeviceOutput>(i)
        .unwrap()
        .set_capture(cap.clone());
    g.set_drop_observer(Some(cap.drop_observer()));

    let files: Vec<(Points, PathBuf, u64)> = vec![
        (Points::RX, tmp("trace-rx.pcap"), 1000),
        (Points::TX, tmp("trace-tx.pcap"), 1000),
        (Points::DROP, tmp("trace-drop.pcap"), 1000),
        (
            Points::RX.with(Points::TX).with(Points::DROP),
            tmp("trace-all.pcap"),
            10,
        ),
    ];
    let mut results = Vec::new();
    for (points, path, max) in &files {
        // Fresh replay for each capture.
        let mut fresh = PcapDevice::open(&cfg).unwrap();
        fresh.set_admin_up(true).unwrap();
        *typed.lock().unwrap() = fresh;
        cap.start(path, *points, *max).unwrap();
        assert!(cap.start(path, *points, *max).is_err(), "one at a time");
        for t in 0..10 {
            g.dispatch(t);
        }
        let st = cap.stop().unwrap().unwrap();
        results.push(st.written);
        let back = {
            let mut r = PcapReader::open(path).unwrap();
            let mut k = 0;
            while r.next_record().unwrap().is_some() {
                k += 1;
            }
            k
        };
        assert_eq!(back, st.written, "{path:?}");
        if let Some(k) = tcpdump_count(path) {
            assert_eq!(k as u64, st.written, "tcpdump -r {path:?}");
        }
        let _ = std::fs::remove_file(path);
    }
    assert_eq!(
        results,
        vec![n as u64, (n / 2) as u64, (n - n / 2) as u64, 10]
    );
    assert!(cap.stop().unwrap().is_none(), "off when off");
    assert!(cap.start(&tmp("x"), Points::NONE, 1).is_err());
}
