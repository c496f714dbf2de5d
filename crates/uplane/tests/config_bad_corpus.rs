//! The corpus of broken configs in `tests/data/bad-configs/`: each file says in its leading
//! `# expect: TEXT` comments what the error must contain (the field first). Both
//! `uplane -c FILE` and `uplane check FILE` must refuse every one, exit non-zero, and
//! name the file and a line of it, before anything starts (no socket, no "running").

use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad-configs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

fn expectations(text: &str) -> Vec<&str> {
    text.lines()
        .map_while(|l| l.strip_prefix("# expect: "))
        .collect()
}

/// Runs `uplane args...` with a deadline; (exit status success, stdout, stderr).
fn uplane(args: &[&std::ffi::OsStr]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_uplane"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The error names `file:LINE:` with LINE a non-comment line of the file.
fn check_place(file: &Path, text: &str, err: &str) {
    let shown = file.display().to_string();
    let at = err
        .find(&format!("{shown}:"))
        .unwrap_or_else(|| panic!("{shown}: the error does not name the file:\n{err}"));
    let rest = &err[at + shown.len() + 1..];
    let line: usize = rest
        .split(':')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{shown}: no line number in:\n{err}"));
    let src = text
        .lines()
        .nth(line.wrapping_sub(1))
        .unwrap_or_else(|| panic!("{shown}: line {line} is past the end:\n{err}"));
    assert!(
        !src.starts_with('#'),
        "{shown}:{line} points at a comment: {src:?}\n{err}"
    );
}

#[test]
fn every_broken_config_is_refused_with_file_line_and_field() {
    let files = corpus();
    assert!(files.len() >= 20, "the corpus shrank: {files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let expect = expectations(&text);
        assert!(
            !expect.is_empty(),
            "{}: starts with no `# expect:` line",
            file.display()
        );
        for mode in [&["-c"][..], &["check"][..]] {
            let mut args: Vec<&std::ffi::OsStr> = mode.iter().map(|s| s.as_ref()).collect();
            args.push(file.as_os_str());
            let (ok, out, err) = uplane(&args);
            assert!(
                !ok,
                "uplane {mode:?} {} accepted it:\n{out}",
                file.display()
            );
            assert!(
                !err.contains("running") && !out.contains("OK"),
                "{}: something started:\n{err}",
                file.display()
            );
            let first = err.lines().next().unwrap_or("");
            for e in &expect {
                assert!(
                    first.contains(e),
                    "uplane {mode:?} {}: the first error line should contain {e:?}:\n{err}",
                    file.display()
                );
            }
            check_place(&file, &text, first);
        }
    }
}

#[test]
fn check_accepts_a_good_config_and_says_so() {
    let dir = std::env::temp_dir().join(format!("uplane-config-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("good.toml");
    std::fs::write(
        &cfg,
        "[cli]\nsocket = \"/tmp/never-bound.sock\"\n[cpu]\nworkers = 0\n\
         [[interface]]\nname = \"lan\"\ndriver = \"pg\"\naddress = [\"10.1.0.1/24\"]\n\
         [[route]]\nprefix = \"10.8.0.0/16\"\nvia = \"10.1.0.2\"\n",
    )
    .unwrap();
    let (ok, out, err) = uplane(&["check".as_ref(), cfg.as_os_str()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(ok, "{err}");
    assert!(out.starts_with(&format!("{}: OK", cfg.display())), "{out}");
    assert!(out.contains("\"lan\""), "{out}");
    assert!(!Path::new("/tmp/never-bound.sock").exists());
}

#[test]
fn a_missing_file_is_refused_by_name() {
    let (ok, _, err) = uplane(&["-c".as_ref(), "/nonexistent/uplane.toml".as_ref()]);
    assert!(!ok);
    assert!(
        err.contains("/nonexistent/uplane.toml") && err.contains("cannot read"),
        "{err}"
    );
}
