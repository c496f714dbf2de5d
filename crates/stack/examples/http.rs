//! An HTTP/1.1 server (port 80, or `--port N`) on a TAP or AF_PACKET device, run by
//! uplane's own stack: `http --tap up0 --ip 10.77.0.2/24`, then
//! `curl http://10.77.0.2/` or `curl http://10.77.0.2/bytes/1000000`.

#[path = "common/mod.rs"]
mod common;

fn main() {
    let (net, rest) = common::start();
    let port = rest
        .iter()
        .position(|a| a == "--port")
        .and_then(|i| rest.get(i + 1))
        .and_then(|p| p.parse().ok())
        .unwrap_or(80u16);
    let listener =
        stack::net::TcpListener::bind(&net, ([0, 0, 0, 0], port).into()).expect("listen");
    eprintln!("http: listening on port {port}");
    common::serve_http(listener);
}
