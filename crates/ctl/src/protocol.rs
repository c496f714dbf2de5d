//! Requests and responses: newline-delimited JSON over the CLI's Unix socket.

use serde::{Deserialize, Serialize};
use std::io::{self, BufRead, Write};

/// Longest request line the server reads (a command line is short; this bounds memory).
pub const MAX_LINE: usize = 64 * 1024;

/// One command sent to the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The command's words, as typed (`["show", "interfaces"]`).
    pub words: Vec<String>,
    /// Answer with JSON instead of text.
    #[serde(default)]
    pub json: bool,
}

/// The daemon's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Response {
    /// Text for a human.
    Text {
        /// The output.
        text: String,
    },
    /// A JSON value (for `--json`).
    Json {
        /// The output.
        value: serde_json::Value,
    },
    /// The command was refused or failed; nothing changed.
    Error {
        /// One line saying why.
        message: String,
        /// The usage of the nearest command, when the words were wrong.
        usage: Option<String>,
    },
}

/// Writes `msg` as one JSON line.
pub fn write_line<T: Serialize>(w: &mut impl Write, msg: &T) -> io::Result<()> {
    let mut line = serde_json::to_vec(msg).map_err(io::Error::other)?;
    line.push(b'\n');
    w.write_all(&line)?;
    w.flush()
}

/// Reads one JSON line (at most [`MAX_LINE`] bytes). `Ok(None)` at end of stream.
pub fn read_line<T: for<'de> Deserialize<'de>, R: BufRead>(r: &mut R) -> io::Result<Option<T>> {
    let mut line = Vec::new();
    let n = io::Read::take(r.by_ref(), MAX_LINE as u64 + 1).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if line.len() > MAX_LINE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "request line too long",
        ));
    }
    serde_json::from_slice(&line)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let req = Request {
            words: vec!["show".into(), "runtime".into()],
            json: true,
        };
        let mut buf = Vec::new();
        write_line(&mut buf, &req).unwrap();
        let back: Request = read_line(&mut &buf[..]).unwrap().unwrap();
        assert_eq!(back, req);
        let resp = Response::Error {
            message: "no".into(),
            usage: Some("show runtime".into()),
        };
        let mut buf = Vec::new();
        write_line(&mut buf, &resp).unwrap();
        assert!(String::from_utf8_lossy(&buf).contains("\"status\":\"error\""));
        let back: Response = read_line(&mut &buf[..]).unwrap().unwrap();
        assert_eq!(back, resp);
    }

    #[test]
    fn oversized_and_garbage_lines_are_errors() {
        let long = vec![b'a'; MAX_LINE + 10];
        assert!(read_line::<Request, _>(&mut &long[..]).is_err());
        assert!(read_line::<Request, _>(&mut &b"{nope\n"[..]).is_err());
        assert!(read_line::<Request, _>(&mut &b""[..]).unwrap().is_none());
    }
}
