//! The blocking layer (`stack::net`): two stacks on an in-memory link, each driven by its
//! own thread; std-shaped sockets move bytes both ways, UDP round-trips, and (feature
//! `tokio`) the async adapter echoes through tokio's I/O traits.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use stack::iface::{Interface, InterfaceConfig};
use stack::net::{channel_pair, Net, NetConfig, TcpListener, TcpStream, UdpSocket};
use stack::socket::Stack;

fn pair() -> (Net, Net) {
    let cfg = |mac: u8, ip: &str, secret: u8| {
        let mut c = InterfaceConfig::new([2, 0, 0, 0, 0, mac]);
        c.ipv4 = Some((ip.parse().unwrap(), 24));
        c.endpoint.secret = [secret; 16];
        Stack::new(Interface::new(c))
    };
    let (pa, pb) = channel_pair(4096);
    (
        Net::spawn(cfg(1, "10.1.0.1", 1), pa, NetConfig::default()),
        Net::spawn(cfg(2, "10.1.0.2", 2), pb, NetConfig::default()),
    )
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn echo_one_megabyte_through_blocking_sockets() {
    let (a, b) = pair();
    let server: SocketAddr = "10.1.0.2:7".parse().unwrap();
    let listener = TcpListener::bind(&b, server).unwrap();
    let srv = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20)));
        let mut buf = vec![0u8; 16384];
        loop {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            s.write_all(&buf[..n]).unwrap();
        }
        s.shutdown(Shutdown::Write).unwrap();
        s.wait_sent().unwrap();
    });
    let data = pattern(1 << 20);
    let mut c = TcpStream::connect(&a, server).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20)));
    assert_eq!(c.peer_addr().unwrap(), server);
    // Lockstep: a chunk out, the same chunk back.
    let mut back = Vec::new();
    let mut buf = vec![0u8; 16384];
    for chunk in data.chunks(16384) {
        c.write_all(chunk).unwrap();
        let want = back.len() + chunk.len();
        while back.len() < want {
            let n = c.read(&mut buf).unwrap();
            assert!(n > 0, "early end of stream");
            back.extend_from_slice(&buf[..n]);
        }
    }
    c.shutdown(Shutdown::Write).unwrap();
    assert_eq!(
        c.read(&mut buf).unwrap(),
        0,
        "the server closed after our FIN"
    );
    assert!(back == data, "echoed bytes identical");
    srv.join().unwrap();
}

#[test]
fn udp_round_trip() {
    let (a, b) = pair();
    let mut sa = UdpSocket::bind(&a, "0.0.0.0:0".parse().unwrap()).unwrap();
    let mut sb = UdpSocket::bind(&b, "10.1.0.2:53".parse().unwrap()).unwrap();
    sa.set_read_timeout(Some(Duration::from_secs(5)));
    sb.set_read_timeout(Some(Duration::from_secs(5)));
    sa.send_to(b"ping", "10.1.0.2:53".parse().unwrap()).unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = sb.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"ping");
    sb.send_to(b"pong", from).unwrap();
    let (n, from2) = sa.recv_from(&mut buf).unwrap();
    assert_eq!(
        (&buf[..n], from2),
        (&b"pong"[..], "10.1.0.2:53".parse().unwrap())
    );
    // Nobody on this port: the ICMP error comes back as ConnectionRefused.
    sa.send_to(b"?", "10.1.0.2:54".parse().unwrap()).unwrap();
    let e = sa.recv_from(&mut buf).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[test]
fn connect_refused_is_an_error() {
    let (a, _b) = pair();
    let e = TcpStream::connect(&a, "10.1.0.2:1".parse().unwrap()).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[cfg(feature = "tokio")]
#[test]
fn tokio_adapter_echoes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (a, b) = pair();
    let server: SocketAddr = "10.1.0.2:9000".parse().unwrap();
    let listener = TcpListener::bind(&b, server).unwrap();
    let srv = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut s = s.into_async();
            let mut buf = vec![0u8; 4096];
            loop {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                s.write_all(&buf[..n]).await.unwrap();
            }
            s.shutdown().await.unwrap();
            s.into_inner().wait_sent().unwrap();
        });
    });
    let c = TcpStream::connect(&a, server).unwrap();
    let data = pattern(300_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let back = rt.block_on(async {
        let mut c = c.into_async();
        let (mut back, mut sent) = (Vec::new(), 0usize);
        let mut buf = vec![0u8; 8192];
        // Interleave writes and reads so neither side's buffer fills.
        while back.len() < data.len() {
            if sent < data.len() {
                let end = (sent + 8192).min(data.len());
                c.write_all(&data[sent..end]).await.unwrap();
                sent = end;
                if sent == data.len() {
                    c.shutdown().await.unwrap();
                }
            }
            let n = c.read(&mut buf).await.unwrap();
            assert!(n > 0, "early end of stream");
            back.extend_from_slice(&buf[..n]);
        }
        back
    });
    assert!(back == data);
    srv.join().unwrap();
}
