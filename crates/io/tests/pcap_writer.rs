//! The pcap writer: round trips through the reader, typed errors, and tcpdump reading what
//! it wrote (when tcpdump is installed).

use std::path::PathBuf;
use std::process::Command;

use io::pcap::{Format, LinkType, PcapReader, PcapWriter, TsResolution, WriteError};

/// (timestamp_ns, original_len, data) of a few packets of assorted sizes.
fn packets() -> Vec<(u64, u32, Vec<u8>)> {
    (0..40u32)
        .map(|i| {
            let len = [14usize, 60, 1514, 9000, 65535][i as usize % 5];
            let data: Vec<u8> = (0..len).map(|b| (b as u32 ^ i) as u8).collect();
            let orig = len as u32 + (i % 3) * 100;
            (
                1_700_000_000_000_000_000 + u64::from(i) * 1_234_567_891,
                orig,
                data,
            )
        })
        .collect()
}

fn write(resolution: TsResolution) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), resolution).unwrap();
    for (ts, orig, data) in packets() {
        w.write_record(ts, orig, &data).unwrap();
    }
    w.into_inner()
}

#[test]
fn round_trip_micro_and_nano() {
    for resolution in [TsResolution::Micro, TsResolution::Nano] {
        let file = write(resolution);
        let mut r = PcapReader::from_bytes(&file).unwrap();
        assert!(matches!(
            r.format(),
            Format::Pcap { resolution: res, link_type: LinkType::ETHERNET, .. } if res == resolution
        ));
        for (ts, orig, data) in packets() {
            let rec = r.next_record().unwrap().unwrap();
            let want_ts = match resolution {
                TsResolution::Micro => ts / 1000 * 1000,
                TsResolution::Nano => ts,
            };
            assert_eq!(rec.timestamp_ns, want_ts);
            assert_eq!(rec.original_len, orig);
            assert_eq!(rec.data, &data[..]);
        }
        assert!(r.next_record().unwrap().is_none());
    }
}

#[test]
fn write_errors_are_typed() {
    let mut w = PcapWriter::new(Vec::new(), TsResolution::Nano).unwrap();
    let big = vec![0u8; io::pcap::MAX_CAPTURE_LEN + 1];
    assert!(matches!(
        w.write_packet(0, &big),
        Err(WriteError::DataTooLong { .. })
    ));
    assert!(matches!(
        w.write_record(0, 10, &[0; 20]),
        Err(WriteError::OriginalShorterThanData {
            original: 10,
            captured: 20
        })
    ));
    assert!(matches!(
        w.write_packet(u64::MAX, &[0; 20]),
        Err(WriteError::TimestampOutOfRange { .. })
    ));
    // Nothing but the header was written.
    assert_eq!(w.into_inner().len(), 24);
}

#[test]
fn other_link_types_round_trip() {
    let mut w = PcapWriter::with_link_type(Vec::new(), TsResolution::Micro, LinkType::RAW).unwrap();
    w.write_packet(5_000_000, &[0x45, 0, 0, 20]).unwrap();
    let file = w.into_inner();
    let mut r = PcapReader::from_bytes(&file).unwrap();
    let rec = r.next_record().unwrap().unwrap();
    assert_eq!(
        (rec.link_type, rec.timestamp_ns, rec.data),
        (LinkType::RAW, 5_000_000, &[0x45, 0, 0, 20][..])
    );
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("uplane-io-{}-{name}", std::process::id()))
}

#[test]
fn tcpdump_reads_what_we_write() {
    if Command::new("tcpdump").arg("--version").output().is_err() {
        println!("SKIPPED tcpdump_reads_what_we_write: tcpdump is not installed");
        return;
    }
    for (resolution, name) in [
        (TsResolution::Micro, "micro.pcap"),
        (TsResolution::Nano, "nano.pcap"),
    ] {
        let path = temp_path(name);
        std::fs::write(&path, write(resolution)).unwrap();
        // `--count` (tcpdump >= 4.99) prints only "N packets".
        let out = Command::new("tcpdump")
            .arg("--count")
            .arg("-r")
            .arg(&path)
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&path);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "tcpdump failed: {stderr}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            stdout.trim(),
            format!("{} packets", packets().len()),
            "{stderr}"
        );
        assert!(stderr.contains("link-type EN10MB"), "{stderr}");
    }
}
