//! Prometheus text exposition at `/metrics`, served without blocking the forwarding thread.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// The metrics listener. [`Metrics::poll`] answers what is ready and returns at once.
#[derive(Debug)]
pub struct Metrics {
    listener: TcpListener,
    clients: Vec<(TcpStream, Vec<u8>, Instant)>,
}

impl Metrics {
    /// Listens on `addr`.
    pub fn bind(addr: SocketAddr) -> std::io::Result<Metrics> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(Metrics {
            listener,
            clients: Vec::new(),
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves ready requests; `body` renders the exposition text when one is complete.
    pub fn poll(&mut self, body: &mut dyn FnMut() -> String) {
        while let Ok((s, _)) = self.listener.accept() {
            if self.clients.len() < 16 && s.set_nonblocking(true).is_ok() {
                self.clients.push((s, Vec::new(), Instant::now()));
            }
        }
        self.clients.retain_mut(|(s, buf, since)| {
            let mut chunk = [0u8; 2048];
            loop {
                match s.read(&mut chunk) {
                    Ok(0) => return false,
                    Ok(n) => {
                        buf.extend_from_slice(&chunk[..n]);
                        if buf.len() > 16 * 1024 {
                            return false;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(_) => return false,
                }
            }
            if !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                return since.elapsed() < Duration::from_secs(5);
            }
            let path_ok = buf.starts_with(b"GET /metrics ") || buf.starts_with(b"GET / ");
            let (status, text) = if path_ok { ("200 OK", body()) } else { ("404 Not Found", "not found\n".to_string()) };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                text.len()
            );
            // Small responses: a blocking write with a short timeout is fine here.
            let _ = s.set_nonblocking(false);
            let _ = s.set_write_timeout(Some(Duration::from_millis(200)));
            let _ = s.write_all(head.as_bytes()).and_then(|_| s.write_all(text.as_bytes()));
            false
        });
    }
}
