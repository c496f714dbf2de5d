//! Replays the `cli` fuzz target's seeds and saved crashes through the request decoder and
//! the grammar (what `cargo fuzz run cli` checks, without the fuzzer).

#[test]
fn replay_cli_corpus() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut seen = 0;
    for sub in ["corpus/cli", "regressions/cli"] {
        let Ok(dir) = std::fs::read_dir(root.join(sub)) else {
            continue;
        };
        for f in dir {
            ctl::fuzz::fuzz(&std::fs::read(f.unwrap().path()).unwrap());
            seen += 1;
        }
    }
    assert!(seen >= 10, "the cli seeds are missing (found {seen})");
}

#[test]
fn fuzz_body_checks_hold_for_typed_lines() {
    for line in [
        "",
        "show",
        "--json",
        "ip route add",
        "zzz",
        "show ip",
        "clear",
        "show \u{0}",
    ] {
        ctl::fuzz::fuzz(line.as_bytes());
    }
}
