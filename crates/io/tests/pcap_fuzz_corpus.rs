//! Replays the cargo-fuzz seed corpus and saved crash inputs of the `pcap` target through
//! `io::pcap::fuzz`, so `cargo test` keeps them from regressing on stable.

use std::path::Path;

#[test]
fn replay_pcap_fuzz_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut seen = 0;
    for sub in ["corpus", "regressions"] {
        let dir = root.join(sub).join("pcap");
        let Ok(files) = std::fs::read_dir(&dir) else {
            if sub == "corpus" {
                println!("no fuzz corpus at {}", dir.display());
            }
            continue;
        };
        for f in files {
            let path = f.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            io::pcap::fuzz(&bytes);
            seen += 1;
        }
    }
    assert!(
        seen >= 10,
        "fuzz/corpus/pcap should hold at least 10 seeds, found {seen}"
    );
}
