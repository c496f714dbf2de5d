//! `Stack::tcp_recv_with`: received bytes consumed in place, in pieces of any size
//! (none, part of what is shown, all of it, more than shown), across the receive
//! buffer's wrap; the bytes arrive identical and in order, the window reopens (the
//! transfer finishes), and end of stream reads as `Ok(0)` without calling the closure.

use stack::iface::{Interface, InterfaceConfig};
use stack::socket::{SocketError, Stack};

fn stack(mac: u8, ip: &str) -> Stack {
    let mut c = InterfaceConfig::new([2, 0, 0, 0, 0, mac]);
    c.ipv4 = Some((ip.parse().unwrap(), 24));
    c.endpoint.secret = [mac; 16];
    Stack::new(Interface::new(c))
}

fn pump(a: &mut Stack, b: &mut Stack, now: u64, frame: &mut [u8]) {
    for _ in 0..4 {
        while let Some(n) = a.poll_transmit(now, frame) {
            b.handle_frame(now, &frame[..n]);
        }
        while let Some(n) = b.poll_transmit(now, frame) {
            a.handle_frame(now, &frame[..n]);
        }
    }
}

#[test]
fn bytes_consumed_in_place_arrive_whole_and_in_order() {
    let (mut a, mut b) = (stack(1, "10.0.0.1"), stack(2, "10.0.0.2"));
    let mut now = 1_000_000_000u64;
    let l = b.tcp_listen("10.0.0.2:80".parse().unwrap(), 4).unwrap();
    let c = a.tcp_connect(now, "10.0.0.2:80".parse().unwrap()).unwrap();
    let mut frame = vec![0u8; 1600];
    let data: Vec<u8> = (0..1_500_000u32)
        .map(|i| (i * 13 + i / 509) as u8)
        .collect();
    let (mut sent, mut got) = (0usize, Vec::new());
    let mut srv = None;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut calls_with_nothing_taken = 0;
    let mut saw_end = false;
    for _ in 0..200_000 {
        if sent < data.len() {
            match a.tcp_send(c, &data[sent..]) {
                Ok(n) => sent += n,
                Err(SocketError::WouldBlock) => {}
                Err(e) => panic!("{e}"),
            }
        } else if sent == data.len() {
            a.tcp_shutdown_write(now, c).unwrap();
            sent += 1;
        }
        pump(&mut a, &mut b, now, &mut frame);
        if srv.is_none() {
            srv = b.tcp_accept(l).ok().map(|x| x.0);
        }
        let Some(s) = srv else {
            now += 1_000;
            continue;
        };
        let mut ended = false;
        for _ in 0..8 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            // Take nothing, a part, all of it, or claim more than shown.
            let want = match seed % 4 {
                0 => 0,
                1 => (seed >> 8) as usize % 3000,
                2 => usize::MAX,
                _ => (seed >> 8) as usize % 100_000,
            };
            let mut called = false;
            let r = b.tcp_recv_with(s, |d| {
                called = true;
                assert!(!d.is_empty(), "shown an empty run");
                let n = want.min(d.len());
                got.extend_from_slice(&d[..n]);
                if want == usize::MAX {
                    d.len() + 5
                } else {
                    n
                }
            });
            match r {
                Ok(0) if !called => {
                    ended = true;
                    break;
                }
                Ok(0) => calls_with_nothing_taken += 1,
                Ok(_) => {}
                Err(SocketError::WouldBlock) => break,
                Err(e) => panic!("{e}"),
            }
        }
        pump(&mut a, &mut b, now, &mut frame);
        now += 1_000;
        for st in [&mut a, &mut b] {
            if st.poll_timeout().is_some_and(|t| t <= now) {
                st.handle_timeout(now);
            }
        }
        if ended {
            saw_end = true;
            break;
        }
    }
    assert_eq!(got.len(), data.len());
    assert!(got == data, "bytes differ");
    assert!(calls_with_nothing_taken > 0);
    assert!(saw_end, "end of stream never read");
}
