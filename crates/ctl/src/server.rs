//! The daemon's side of the CLI socket: non-blocking, polled between graph dispatches.
//!
//! [`CliServer::poll`] accepts connections and reads requests without ever blocking the
//! thread that forwards packets; each complete request line is parsed and handed to the
//! daemon's [`Handler`], whose [`Response`] is written back. A connection may send many
//! requests (the interactive shell does).

use crate::grammar::{self, Command};
use crate::protocol::{Request, Response, MAX_LINE};
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// What the daemon does with a parsed command.
pub trait Handler {
    /// Runs `cmd`; `json` asks for [`Response::Json`].
    fn handle(&mut self, cmd: &Command, json: bool) -> Response;
}

struct Conn {
    stream: UnixStream,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
}

/// Most clients connected at once; more are refused.
const MAX_CLIENTS: usize = 32;

/// The listening socket and its clients.
pub struct CliServer {
    listener: UnixListener,
    path: PathBuf,
    conns: Vec<Conn>,
}

impl std::fmt::Debug for CliServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CliServer")
            .field("path", &self.path)
            .field("clients", &self.conns.len())
            .finish()
    }
}

impl CliServer {
    /// Binds `path` (creating its directory), mode 0600. A stale socket file left by a
    /// crashed daemon is replaced; a live one (something answers on it) is an error.
    pub fn bind(path: &Path) -> io::Result<CliServer> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        if path.exists() {
            if UnixStream::connect(path).is_ok() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("{} is in use by a running daemon", path.display()),
                ));
            }
            std::fs::remove_file(path)?;
        }
        let listener = UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        listener.set_nonblocking(true)?;
        Ok(CliServer {
            listener,
            path: path.to_path_buf(),
            conns: Vec::new(),
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Accepts, reads, answers: whatever can be done now without blocking. Returns the
    /// number of requests handled.
    pub fn poll(&mut self, handler: &mut dyn Handler) -> usize {
        while let Ok((stream, _)) = self.listener.accept() {
            if self.conns.len() >= MAX_CLIENTS || stream.set_nonblocking(true).is_err() {
                continue;
            }
            self.conns.push(Conn {
                stream,
                inbuf: Vec::new(),
                outbuf: Vec::new(),
            });
        }
        let mut handled = 0;
        self.conns.retain_mut(|c| {
            let mut buf = [0u8; 4096];
            let alive = loop {
                match c.stream.read(&mut buf) {
                    Ok(0) => break false,
                    Ok(n) => {
                        c.inbuf.extend_from_slice(&buf[..n]);
                        if c.inbuf.len() > MAX_LINE {
                            break false;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break true,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => break false,
                }
            };
            while let Some(nl) = c.inbuf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = c.inbuf.drain(..=nl).collect();
                let resp = answer(&line, handler);
                handled += 1;
                if let Ok(mut v) = serde_json::to_vec(&resp) {
                    v.push(b'\n');
                    c.outbuf.extend_from_slice(&v);
                }
            }
            while !c.outbuf.is_empty() {
                match c.stream.write(&c.outbuf) {
                    Ok(n) => {
                        c.outbuf.drain(..n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => return false,
                }
            }
            alive || !c.outbuf.is_empty()
        });
        handled
    }
}

impl Drop for CliServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

pub(crate) fn answer(line: &[u8], handler: &mut dyn Handler) -> Response {
    let req: Request = match serde_json::from_slice(line) {
        Ok(r) => r,
        Err(e) => {
            return Response::Error {
                message: format!("bad request: {e}"),
                usage: None,
            }
        }
    };
    let words: Vec<&str> = req.words.iter().map(String::as_str).collect();
    let (words, flag) = grammar::take_json_flag(&words);
    match grammar::parse(&words) {
        Ok(cmd) => handler.handle(&cmd, req.json || flag),
        Err(e) => Response::Error {
            message: e.message,
            usage: Some(e.usage),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{read_line, write_line};
    use std::io::BufReader;

    struct Echo;
    impl Handler for Echo {
        fn handle(&mut self, cmd: &Command, json: bool) -> Response {
            if json {
                Response::Json {
                    value: serde_json::json!({ "cmd": format!("{cmd:?}") }),
                }
            } else {
                Response::Text {
                    text: format!("{cmd:?}\n"),
                }
            }
        }
    }

    #[test]
    fn serves_requests_without_blocking() {
        let dir = std::env::temp_dir().join(format!("uplane-ctl-test-{}", std::process::id()));
        let path = dir.join("cli.sock");
        let mut server = CliServer::bind(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(server.poll(&mut Echo), 0, "nothing to do: returns at once");
        let client = UnixStream::connect(&path).unwrap();
        let mut w = client.try_clone().unwrap();
        let mut r = BufReader::new(client);
        let ask = |w: &mut UnixStream, words: &[&str], json| {
            write_line(
                w,
                &Request {
                    words: words.iter().map(|s| s.to_string()).collect(),
                    json,
                },
            )
            .unwrap();
        };
        ask(&mut w, &["show", "runtime"], false);
        ask(&mut w, &["show", "errors", "--json"], false);
        ask(&mut w, &["show", "interfacs"], false);
        let mut got = 0;
        while got < 3 {
            got += server.poll(&mut Echo);
        }
        let a: Response = read_line(&mut r).unwrap().unwrap();
        assert_eq!(
            a,
            Response::Text {
                text: "ShowRuntime\n".into()
            }
        );
        let b: Response = read_line(&mut r).unwrap().unwrap();
        assert!(matches!(b, Response::Json { .. }));
        let c: Response = read_line(&mut r).unwrap().unwrap();
        assert!(
            matches!(c, Response::Error { usage: Some(ref u), .. } if u.starts_with("show interfaces"))
        );
        // A second daemon cannot take the socket of a live one.
        assert!(CliServer::bind(&path).is_err());
        drop(server);
        assert!(!path.exists(), "socket removed on shutdown");
        let _ = std::fs::remove_dir_all(dir);
    }
}
