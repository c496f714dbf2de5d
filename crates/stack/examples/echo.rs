//! An echo server (TCP port 7, or `--port N`) on a TAP or AF_PACKET device, run by
//! uplane's own stack: `echo --tap up0 --ip 10.77.0.2/24`, then from the host
//! `ip addr add 10.77.0.1/24 dev up0; socat - TCP:10.77.0.2:7`.

#[path = "common/mod.rs"]
mod common;

fn main() {
    let (net, rest) = common::start();
    let port = rest
        .iter()
        .position(|a| a == "--port")
        .and_then(|i| rest.get(i + 1))
        .and_then(|p| p.parse().ok())
        .unwrap_or(7u16);
    let listener =
        stack::net::TcpListener::bind(&net, ([0, 0, 0, 0], port).into()).expect("listen");
    eprintln!("echo: listening on port {port}");
    common::serve_echo(listener);
}
