//! Shared by the tests that drive a real daemon through its socket (`cli_*.rs`,
//! `metrics*.rs`): start `uplane -c FILE` in a temporary directory, talk to it with the
//! `uplanectl` binary, stop it with SIGTERM. Everything created is removed on drop, also
//! when the test fails.
#![allow(dead_code)]

use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Generous: a loaded CI machine may be slow, but never this slow.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// The capture the pcap interfaces replay (136 packets over 6.4 s).
pub fn capture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/zeek_wikipedia.pcap")
}

/// A directory removed on drop (unless `UPLANE_KEEP_TEST_DIR` is set).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("uplane-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("UPLANE_KEEP_TEST_DIR").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A running `uplane -c FILE`; killed on drop if still running.
pub struct Uplane {
    child: Option<Child>,
    pub socket: PathBuf,
    pub config: PathBuf,
    stderr: Arc<Mutex<String>>,
}

/// Writes `dir/uplane.toml`: a `[cli]` section with the socket in `dir`, then `body`.
pub fn write_config(dir: &Path, body: &str) -> PathBuf {
    let cfg = dir.join("uplane.toml");
    std::fs::write(
        &cfg,
        format!(
            "[cli]\nsocket = \"{}\"\n{body}",
            dir.join("cli.sock").display()
        ),
    )
    .unwrap();
    cfg
}

impl Uplane {
    /// Writes the config (see [`write_config`]) and starts the daemon on it.
    pub fn start(dir: &Path, body: &str) -> Uplane {
        let cfg = write_config(dir, body);
        Uplane::start_file(&cfg, &dir.join("cli.sock"), &[])
    }

    /// Starts `prefix... uplane -c cfg` (a prefix like `ip netns exec NS`) and waits for
    /// its socket: the socket appears once the daemon is ready.
    pub fn start_file(cfg: &Path, socket: &Path, prefix: &[&str]) -> Uplane {
        let mut cmd = match prefix.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(env!("CARGO_BIN_EXE_uplane"));
                c
            }
            None => Command::new(env!("CARGO_BIN_EXE_uplane")),
        };
        let mut child = cmd
            .arg("-c")
            .arg(cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
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
        let mut u = Uplane {
            child: Some(child),
            socket: socket.to_path_buf(),
            config: cfg.to_path_buf(),
            stderr,
        };
        let deadline = Instant::now() + TIMEOUT;
        // Connectable, not merely present: a killed daemon leaves a stale file behind.
        while std::os::unix::net::UnixStream::connect(socket).is_err() {
            if let Some(Ok(Some(st))) = u.child.as_mut().map(Child::try_wait) {
                panic!(
                    "uplane exited with {st} before it was ready:\n{}",
                    u.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "uplane did not open its CLI socket:\n{}",
                u.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        u
    }

    /// What the daemon wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// `uplanectl -s SOCKET args...`: (success, stdout, stderr).
    pub fn ctl(&self, args: &[&str]) -> (bool, String, String) {
        ctl_at(&self.socket, args)
    }

    /// `args` must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.ctl(args);
        assert!(ok, "uplanectl {}: failed: {err}{out}", args.join(" "));
        assert!(err.is_empty(), "uplanectl {}: stderr {err}", args.join(" "));
        out
    }

    /// `uplanectl --json args...` parsed.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let out = self.ok(&a);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("uplanectl {}: not JSON ({e}):\n{out}", a.join(" ")))
    }

    /// `show interfaces --json`, the row of `name`, if it exists.
    pub fn interface(&self, name: &str) -> Option<Value> {
        self.json(&["show", "interfaces"])
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == name)
            .cloned()
    }

    /// SIGTERM, as an operator stops it; waits for the exit.
    pub fn stop(&mut self) -> ExitStatus {
        let mut c = self.child.take().expect("running");
        let st = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(st) = c.try_wait().unwrap() {
                return st;
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                let _ = c.wait();
                panic!("uplane did not stop on SIGTERM:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Uplane {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `uplanectl -s socket args...`: (success, stdout, stderr). Panics if it does not answer
/// within [`TIMEOUT`] (a daemon that stopped answering).
pub fn ctl_at(socket: &Path, args: &[&str]) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_uplanectl"))
        .arg("-s")
        .arg(socket)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let read = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = r.read_to_end(&mut s);
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let out = read(Box::new(child.stdout.take().unwrap()));
    let err = read(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("uplanectl {args:?}: no answer within {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    (status.success(), out.join().unwrap(), err.join().unwrap())
}

/// Polls `f` until it returns `Some`, or panics with `what` after [`TIMEOUT`].
pub fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The `u64` field `key` of a JSON object.
pub fn u(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not a non-negative integer in {v}"))
}
