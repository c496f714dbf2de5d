//! Replays the `stack_ip` and `stack_frame` fuzz targets' seeds and saved crashes (what
//! `cargo fuzz run stack_ip` / `stack_frame` check, without the fuzzer). The seeds are
//! written by `write_seeds` (ignored; `cargo test -p uplane-stack --test fuzz_corpus --
//! --ignored write_seeds` regenerates them).

use stack::fuzz::{encode, seeds, OP_APP, OP_JUMP};
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn replay(target: &str, body: fn(&[u8])) -> usize {
    let mut seen = 0;
    for sub in ["corpus", "regressions"] {
        let Ok(dir) = std::fs::read_dir(fuzz_dir().join(sub).join(target)) else {
            continue;
        };
        for f in dir {
            body(&std::fs::read(f.unwrap().path()).unwrap());
            seen += 1;
        }
    }
    seen
}

#[test]
fn replay_stack_ip_corpus() {
    let n = replay("stack_ip", stack::fuzz::stack_ip);
    assert!(n >= 5, "the stack_ip seeds are missing (found {n})");
}

#[test]
fn replay_stack_frame_corpus() {
    let n = replay("stack_frame", stack::fuzz::stack_frame);
    assert!(n >= 5, "the stack_frame seeds are missing (found {n})");
}

/// Application scripts the seeds record: data both ways, a close, a reset, a second
/// connection, UDP, timers.
fn scripts() -> Vec<(&'static str, Vec<u8>)> {
    let rec = |parts: &[(u8, &[u8])]| {
        let mut v = Vec::new();
        for (ctl, body) in parts {
            encode(*ctl, body, &mut v);
        }
        v
    };
    vec![
        (
            "data",
            rec(&[(OP_APP, b"\x04\x00hello host"), (OP_APP, b"\x01\x00")]),
        ),
        (
            "echo",
            rec(&[
                (OP_APP, b"\x04\x00ping"),
                (OP_APP, b"\x00\x00pong from host"),
                (OP_APP | 0x28, b"\x08\x00"),
            ]),
        ),
        (
            "close",
            rec(&[
                (OP_APP, b"\x04\x00bye"),
                (OP_APP, b"\x02\x00"),
                (OP_JUMP, &[33]),
            ]),
        ),
        ("abort", rec(&[(OP_APP, b"\x03\x00")])),
        (
            "second",
            rec(&[(OP_APP, b"\x07\x00"), (OP_APP, b"\x04\x01two conns")]),
        ),
        (
            "connect-udp",
            rec(&[
                (OP_APP, b"\x05\x03"),
                (OP_APP, b"\x06\x00dns?"),
                (OP_JUMP, &[30]),
            ]),
        ),
    ]
}

#[test]
#[ignore = "writes fuzz/corpus/stack_{ip,frame}; run by hand after a format change"]
fn write_seeds() {
    for target in ["stack_ip", "stack_frame"] {
        std::fs::create_dir_all(fuzz_dir().join("corpus").join(target)).unwrap();
    }
    for (name, script) in scripts() {
        for v6 in [false, true] {
            let (ip, frame) = seeds(v6, &script);
            let fam = if v6 { "v6" } else { "v4" };
            for (target, seed) in [("stack_ip", ip), ("stack_frame", frame)] {
                let path = fuzz_dir()
                    .join("corpus")
                    .join(target)
                    .join(format!("{name}-{fam}"));
                std::fs::write(path, seed).unwrap();
            }
        }
    }
}

#[test]
fn fuzz_bodies_hold_for_scripts_and_junk() {
    for (_, script) in scripts() {
        for v6 in [0u8, 1] {
            let mut d = vec![v6];
            d.extend_from_slice(&script);
            stack::fuzz::stack_ip(&d);
            stack::fuzz::stack_frame(&d);
        }
    }
    // Short, cut and junk inputs.
    for d in [
        &[][..],
        &[1],
        &[0, 0],
        &[0, 0, 0xff, 0xff, 0x45],
        &[1, 4, 0, 3, 0x60, 0, 0],
    ] {
        stack::fuzz::stack_ip(d);
        stack::fuzz::stack_frame(d);
    }
}
