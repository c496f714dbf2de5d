//! `uplanectl` with no command: the interactive shell, driven through a real pseudo-terminal
//! (`script` from util-linux allocates it), as a person types. Tab completes command words,
//! commands run against the daemon, a bad command prints its error and usage and the shell
//! carries on, `--json` works inside the shell, and the history file keeps what was typed.

mod cli_support;

use cli_support::{TempDir, Uplane, TIMEOUT};
use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A shell under a pty: what it printed so far (terminal escapes included).
struct Shell {
    child: Child,
    stdin: ChildStdin,
    out: Arc<Mutex<String>>,
}

impl Shell {
    fn start(socket: &std::path::Path, home: &std::path::Path) -> Shell {
        let cmd = format!(
            "{} -s {}",
            env!("CARGO_BIN_EXE_uplanectl"),
            socket.display()
        );
        let mut child = Command::new("script")
            .args(["-q", "-e", "-c", &cmd, "/dev/null"])
            .env("HOME", home)
            .env("TERM", "xterm")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("script(1) from util-linux");
        let stdin = child.stdin.take().unwrap();
        let mut pipe = child.stdout.take().unwrap();
        let out = Arc::new(Mutex::new(String::new()));
        let sink = out.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Shell { child, stdin, out }
    }

    /// Everything printed after byte `from`.
    fn since(&self, from: usize) -> String {
        self.out
            .lock()
            .unwrap()
            .get(from..)
            .unwrap_or("")
            .to_string()
    }

    fn mark(&self) -> usize {
        self.out.lock().unwrap().len()
    }

    fn keys(&mut self, keys: &str) {
        self.stdin.write_all(keys.as_bytes()).unwrap();
        self.stdin.flush().unwrap();
    }

    /// Types `keys`, then waits until the output after them contains every one of `want`.
    fn expect(&mut self, keys: &str, want: &[&str]) -> String {
        let from = self.mark();
        self.keys(keys);
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let got = self.since(from);
            if want.iter().all(|w| got.contains(w)) {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "typed {keys:?}, waited for {want:?}, the shell printed:\n{got}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn interactive_shell_completes_runs_recovers_and_keeps_history() {
    let dir = TempDir::new("shell");
    let d = Uplane::start(
        &dir.0,
        "[metrics]\nenable = false\n[[interface]]\nname = \"lan\"\ndriver = \"pg\"\n\
         address = [\"10.1.0.1/24\"]\n",
    );
    let home = dir.0.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut sh = Shell::start(&d.socket, &home);
    sh.expect("", &["uplane# "]);

    // "sho<Tab>" has one completion, "show "; "in<Tab>" after it only "interfaces".
    sh.expect("sho\t", &["show "]);
    sh.expect("in\t", &["interfaces "]);
    // The table: its heading, then the row of `lan`.
    sh.expect("\r", &["Rx packets", "\nlan ", "uplane# "]);

    // A typo: one error line and the nearest usage, and the shell is still there.
    let out = sh.expect("show interfacez\r", &["usage:", "uplane# "]);
    assert!(out.contains("error"), "{out}");

    // --json inside the shell gives JSON.
    let out = sh.expect("show interfaces --json\r", &["\"rx_packets\"", "uplane# "]);
    assert!(out.contains("\"name\""), "{out}");

    sh.keys("exit\r");
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(st) = sh.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "the shell did not exit on 'exit'"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "uplanectl exited with {status}");

    let history = std::fs::read_to_string(home.join(".uplanectl_history")).unwrap();
    for line in [
        "show interfaces",
        "show interfacez",
        "show interfaces --json",
    ] {
        assert!(
            history.lines().any(|l| l == line),
            "history lacks {line:?}:\n{history}"
        );
    }
}
