//! The client side: send one request, read its response.

use crate::protocol::{read_line, write_line, Request, Response};
use std::io::{self, BufReader};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// A connection to a daemon's CLI socket.
#[derive(Debug)]
pub struct Client {
    writer: UnixStream,
    reader: BufReader<UnixStream>,
}

impl Client {
    /// Connects to the socket at `path`.
    pub fn connect(path: &Path) -> io::Result<Client> {
        let s = UnixStream::connect(path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot connect to {}: {e} (is uplane running?)",
                    path.display()
                ),
            )
        })?;
        Ok(Client {
            writer: s.try_clone()?,
            reader: BufReader::new(s),
        })
    }

    /// Sends `words` and waits for the answer.
    pub fn call(&mut self, words: &[String], json: bool) -> io::Result<Response> {
        write_line(
            &mut self.writer,
            &Request {
                words: words.to_vec(),
                json,
            },
        )?;
        read_line(&mut self.reader)?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the daemon closed the connection",
            )
        })
    }
}
