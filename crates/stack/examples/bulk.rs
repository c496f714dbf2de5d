//! Bulk transfer over uplane's stack on a TAP or AF_PACKET device:
//! `bulk --tap up0 --ip 10.77.0.2/24 send 10.77.0.1:5001 100000000` sends that many bytes
//! and prints the rate; `bulk ... recv 5001` receives until end of stream and prints the
//! byte count and rate (e.g. against `socat -u TCP:10.77.0.2:5001 -` / `socat -u - TCP:...`).

#[path = "common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::time::Instant;

fn main() {
    let (net, rest) = common::start();
    let usage = "bulk ... (send HOST:PORT BYTES | recv PORT)";
    match rest.first().map(String::as_str) {
        Some("send") => {
            let (Some(to), Some(n)) = (
                rest.get(1).and_then(|a| a.parse().ok()),
                rest.get(2).and_then(|n| n.parse::<usize>().ok()),
            ) else {
                eprintln!("usage: {usage}");
                std::process::exit(2);
            };
            let mut s = stack::net::TcpStream::connect(&net, to).expect("connect");
            let chunk: Vec<u8> = (0..65536).map(common::pattern_byte).collect();
            let t = Instant::now();
            let mut sent = 0;
            while sent < n {
                let len = chunk.len().min(n - sent);
                s.write_all(&chunk[..len]).expect("write");
                sent += len;
            }
            s.shutdown(std::net::Shutdown::Write).expect("shutdown");
            s.wait_sent().expect("all acknowledged");
            let secs = t.elapsed().as_secs_f64();
            println!(
                "sent {n} bytes in {secs:.3} s: {:.1} Mbit/s",
                n as f64 * 8.0 / secs / 1e6
            );
        }
        Some("recv") => {
            let Some(port) = rest.get(1).and_then(|p| p.parse::<u16>().ok()) else {
                eprintln!("usage: {usage}");
                std::process::exit(2);
            };
            let l =
                stack::net::TcpListener::bind(&net, ([0, 0, 0, 0], port).into()).expect("listen");
            let (mut s, peer) = l.accept().expect("accept");
            let t = Instant::now();
            let mut buf = vec![0u8; 65536];
            let mut total = 0usize;
            loop {
                match s.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => total += n,
                    Err(e) => {
                        eprintln!("read: {e}");
                        break;
                    }
                }
            }
            let secs = t.elapsed().as_secs_f64();
            println!(
                "received {total} bytes from {peer} in {secs:.3} s: {:.1} Mbit/s",
                total as f64 * 8.0 / secs / 1e6
            );
        }
        _ => {
            eprintln!("usage: {usage}");
            std::process::exit(2);
        }
    }
}
