//! Replays the `config` fuzz target's seeds and saved crashes through the parser.

#[test]
fn replay_config_corpus() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut seen = 0;
    for sub in ["corpus/config", "regressions/config"] {
        let Ok(dir) = std::fs::read_dir(root.join(sub)) else {
            continue;
        };
        for f in dir {
            uplane::config::fuzz(&std::fs::read(f.unwrap().path()).unwrap());
            seen += 1;
        }
    }
    assert!(seen >= 4, "the config seeds are missing");
}
