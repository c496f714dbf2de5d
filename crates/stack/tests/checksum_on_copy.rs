//! Checksums on the data path. The send path sums a segment's payload while it copies it
//! from the send buffer into the packet (`wire::checksum::copy_and_sum`, the two halves
//! of the send buffer's ring combined): every segment of a transfer that wraps the ring
//! many times must verify at the receiver. Corrupted copies of in-order data segments
//! (one bit anywhere from the IP addresses on) are dropped as `BadTcp` and change
//! nothing: no byte readable, RCV.NXT unmoved; the good copy delivered next is taken as
//! usual. A valid segment that PAWS refuses delivers nothing either. Irregular reads
//! move the receive buffer's wrap around; the bytes must arrive identical.

use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use stack::iface::DropReason;
use stack::ip::{IpHost, IpHostConfig};
use wire::pseudo::PseudoHeader;
use wire::tcp::TcpPacket;

fn host(seed: u8) -> IpHost {
    let mut c = IpHostConfig::default();
    c.endpoint.secret = [seed; 16];
    IpHost::new(c)
}

/// xorshift64*, for corruption positions and read sizes (fixed seed: replayable).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

#[test]
fn corrupted_in_order_segments_are_dropped_and_change_nothing() {
    let (mut a, mut b) = (host(1), host(2));
    let server = SocketAddr::new(IpAddr::V4(B), 80);
    b.endpoint_mut().listen(server, 4).unwrap();
    let mut now = 1_000_000u64;
    let c = a
        .endpoint_mut()
        .connect(now, SocketAddr::new(IpAddr::V4(A), 40000), server)
        .unwrap();
    let mut pkt = vec![0u8; 1500];
    // Handshake.
    for _ in 0..4 {
        while let Some(n) = a.poll_transmit(now, &mut pkt) {
            b.handle_ip_packet(now, &pkt[..n]).unwrap();
        }
        while let Some(n) = b.poll_transmit(now, &mut pkt) {
            a.handle_ip_packet(now, &pkt[..n]).unwrap();
        }
    }
    let s = b.endpoint_mut().accept(server).expect("no connection");

    let data: Vec<u8> = (0..400_000u32).map(|i| (i * 31 + i / 977) as u8).collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut sent, mut got) = (0usize, Vec::new());
    let mut rbuf = vec![0u8; 70_000];
    let (mut corrupted, mut paws_tried) = (0u64, 0u64);
    for _ in 0..20_000 {
        if sent < data.len() {
            if let Ok(n) = a.endpoint_mut().send(c, &data[sent..]) {
                sent += n;
            }
        }
        while let Some(n) = a.poll_transmit(now, &mut pkt) {
            let good = pkt[..n].to_vec();
            let has_payload = n > 20 + 32;
            if has_payload && rng.next().is_multiple_of(5) {
                // One bit flipped anywhere from the IP addresses on: the TCP checksum
                // covers it (the addresses through the pseudo-header; the IP header
                // checksum is the router's business at this level).
                let mut bad = good.clone();
                let at = 12 + (rng.next() as usize) % (n - 12);
                bad[at] ^= 1 << (rng.next() % 8);
                let conn = b.endpoint().connection(s).unwrap();
                let (nxt, queued) = (conn.receive_next(), conn.recv_queue_len());
                // A single flipped bit always breaks the ones'-complement sum.
                assert_eq!(
                    b.handle_ip_packet(now, &bad),
                    Err(DropReason::BadTcp),
                    "byte {at} of {n}"
                );
                corrupted += 1;
                let conn = b.endpoint().connection(s).unwrap();
                assert_eq!(conn.receive_next(), nxt, "a bad segment moved RCV.NXT");
                assert_eq!(conn.recv_queue_len(), queued, "a bad segment was queued");
            }
            if has_payload && rng.next().is_multiple_of(11) {
                // Valid checksum, old timestamp: PAWS drops it after it was staged.
                let mut old = good.clone();
                assert_eq!(old[40..44], [1, 1, 8, 10], "NOP, NOP, timestamps");
                let tsval = u32::from_be_bytes(old[20 + 24..20 + 28].try_into().unwrap());
                old[20 + 24..20 + 28].copy_from_slice(&tsval.wrapping_sub(1 << 30).to_be_bytes());
                let mut tcp = TcpPacket::new_unchecked(&mut old[20..]);
                tcp.fill_checksum(&PseudoHeader::V4 { src: A, dst: B });
                let conn = b.endpoint().connection(s).unwrap();
                let (nxt, queued) = (conn.receive_next(), conn.recv_queue_len());
                assert!(b.handle_ip_packet(now, &old).is_ok());
                let conn = b.endpoint().connection(s).unwrap();
                assert_eq!(
                    conn.receive_next(),
                    nxt,
                    "PAWS-refused segment moved RCV.NXT"
                );
                assert_eq!(conn.recv_queue_len(), queued, "PAWS-refused segment queued");
                paws_tried += 1;
            }
            b.handle_ip_packet(now, &good).unwrap();
        }
        // Irregular reads, so the receive buffer's ring wraps at varied places.
        let want = 1 + (rng.next() as usize) % rbuf.len();
        while let Ok(Some(n)) = b.endpoint_mut().recv(s, &mut rbuf[..want]) {
            got.extend_from_slice(&rbuf[..n]);
            if rng.next().is_multiple_of(3) {
                break;
            }
        }
        while let Some(n) = b.poll_transmit(now, &mut pkt) {
            a.handle_ip_packet(now, &pkt[..n]).unwrap();
        }
        now += 1_000_000;
        for h in [&mut a, &mut b] {
            if h.poll_timeout().is_some_and(|t| t <= now) {
                h.handle_timeout(now);
            }
        }
        if got.len() == data.len() {
            break;
        }
    }
    assert_eq!(got.len(), data.len());
    assert!(got == data, "bytes differ");
    assert!(
        corrupted > 20 && paws_tried > 10,
        "{corrupted} {paws_tried}"
    );
    assert_eq!(b.stats().dropped(DropReason::BadTcp), corrupted);
    assert_eq!(a.stats().total_drops(), 0, "{:?}", a.stats());
}
