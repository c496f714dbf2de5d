//! The body of [`super::fuzz`]: read, normalize, write back and compare.

use super::{
    MacPair, PcapReader, PcapWriter, ReadErrorKind, Record, TsResolution, MAX_CAPTURE_LEN,
};

/// Records checked per input, so one input cannot run for long.
const MAX_RECORDS: usize = 4096;

pub(super) fn run(data: &[u8]) {
    read_all(data, MAX_CAPTURE_LEN);
    // A small caller buffer exercises `BufferTooSmall` and the retry of a pending record.
    read_all(data, 64);
}

fn read_all(data: &[u8], buf_len: usize) {
    let Ok(mut reader) = PcapReader::from_bytes(data) else {
        return;
    };
    let macs = MacPair::default();
    let mut buf = vec![0u8; buf_len];
    let mut big = Vec::new();
    let mut frame = vec![0u8; MAX_CAPTURE_LEN + super::ETHERNET_HEADER_LEN];
    let mut writer = PcapWriter::new(Vec::new(), TsResolution::Nano).ok();
    let mut written = Vec::new();
    for _ in 0..MAX_RECORDS {
        let rec = match reader.next_into(&mut buf) {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                let _ = e.to_string();
                let ReadErrorKind::BufferTooSmall { len, .. } = e.kind else {
                    break;
                };
                assert!(len > buf.len() && len <= MAX_CAPTURE_LEN, "{e}");
                big.resize(len, 0);
                match reader.next_into(&mut big) {
                    Ok(Some(r)) => r,
                    Ok(None) => unreachable!("a pending record was lost"),
                    Err(e) => {
                        let _ = e.to_string();
                        break;
                    }
                }
            }
        };
        check_record(&rec, &macs, &mut frame);
        if let Some(w) = writer.as_mut() {
            if w.write_record(rec.timestamp_ns, rec.original_len, rec.data)
                .is_ok()
            {
                written.push((
                    rec.timestamp_ns,
                    rec.original_len.max(rec.data.len() as u32),
                    rec.data.len(),
                ));
            }
        }
    }
    let out = writer.map(PcapWriter::into_inner).unwrap_or_default();
    // Everything written reads back with the same timestamps and lengths.
    let mut back = PcapReader::from_bytes(&out).expect("own pcap header reads back");
    for (ts, orig, len) in written {
        let r = back
            .next_record()
            .expect("own record reads back")
            .expect("record present");
        assert_eq!(
            (r.timestamp_ns, r.original_len, r.data.len()),
            (ts, orig, len)
        );
    }
    assert!(matches!(back.next_record(), Ok(None)));
}

fn check_record(rec: &Record<'_>, macs: &MacPair, frame: &mut [u8]) {
    assert!(rec.data.len() <= MAX_CAPTURE_LEN);
    match rec.to_ethernet(macs) {
        Ok(n) => {
            let len = n.copy_to(frame).expect("frame buffer holds every record");
            assert_eq!(len, n.len());
            assert!(len >= super::ETHERNET_HEADER_LEN);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}
