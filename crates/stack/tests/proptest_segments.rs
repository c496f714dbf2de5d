//! Property: no sequence of segments, timeouts and application calls panics a connection
//! or an endpoint, and the endpoint's output always parses.

mod common;

use std::sync::Arc;

use proptest::prelude::*;
use stack::tcp::{Connection, TcpConfig};
use stack::{Endpoint, EndpointConfig, FourTuple, MILLIS, SECONDS};
use wire::tcp::{TcpFlags, TcpPacket, TcpRepr, TcpSeqNumber};

#[derive(Debug, Clone)]
enum Op {
    Segment {
        seq_off: i32,
        ack_off: i32,
        flags: u8,
        window: u16,
        ts: Option<(u32, u32)>,
        ws: Option<u8>,
        mss: Option<u16>,
        len: usize,
    },
    Advance(u64),
    Send(usize),
    Recv,
    Close,
    Abort,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (
            prop_oneof![-70_000i32..70_000, any::<i32>()],
            prop_oneof![-70_000i32..70_000, any::<i32>()],
            any::<u8>(),
            any::<u16>(),
            proptest::option::of(any::<(u32, u32)>()),
            proptest::option::of(0u8..20),
            proptest::option::of(any::<u16>()),
            0usize..3000,
        )
            .prop_map(|(seq_off, ack_off, flags, window, ts, ws, mss, len)| Op::Segment {
                seq_off,
                ack_off,
                flags,
                window,
                ts,
                ws,
                mss,
                len,
            }),
        2 => (0u64..5_000).prop_map(|ms| Op::Advance(ms * MILLIS)),
        1 => (0usize..5000).prop_map(Op::Send),
        1 => Just(Op::Recv),
        1 => Just(Op::Close),
        1 => Just(Op::Abort),
    ]
}

fn tuple() -> FourTuple {
    FourTuple {
        local: "10.0.0.1:80".parse().unwrap(),
        remote: "10.0.0.2:5555".parse().unwrap(),
    }
}

fn run(conn: &mut Connection, ops: &[Op], base_seq: TcpSeqNumber, base_ack: TcpSeqNumber) {
    let mut now = SECONDS;
    let mut buf = Vec::new();
    let payload = vec![0xabu8; 3000];
    let mut rbuf = vec![0u8; 4096];
    for op in ops {
        match *op {
            Op::Segment {
                seq_off,
                ack_off,
                flags,
                window,
                ts,
                ws,
                mss,
                len,
            } => {
                let r = TcpRepr {
                    src_port: 5555,
                    dst_port: 80,
                    seq_number: base_seq + seq_off as u32 as usize,
                    ack_number: base_ack + ack_off as u32 as usize,
                    flags: TcpFlags(flags),
                    window_len: window,
                    timestamp: ts,
                    window_scale: ws,
                    max_seg_size: mss,
                    payload_len: len,
                    ..TcpRepr::default()
                };
                conn.handle_segment(now, &r, &payload[..len]);
            }
            Op::Advance(d) => {
                now += d;
                if conn.poll_timeout().is_some_and(|t| t <= now) {
                    conn.handle_timeout(now);
                }
            }
            Op::Send(n) => {
                let _ = conn.send(&payload[..n.min(payload.len())]);
            }
            Op::Recv => {
                let _ = conn.recv(&mut rbuf);
            }
            Op::Close => {
                let _ = conn.close(now);
            }
            Op::Abort => conn.abort(now),
        }
        let mut n = 0;
        while let Some(r) = conn.poll_transmit(now, &mut buf) {
            assert_eq!(r.payload_len, buf.len());
            n += 1;
            assert!(n < 10_000, "poll_transmit never returns None");
        }
        while conn.poll_event().is_some() {}
        if let Some(t) = conn.poll_timeout() {
            assert!(
                t >= now || t + 60 * SECONDS >= now,
                "deadline far in the past"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn passive_connection_never_panics(ops in proptest::collection::vec(op(), 1..60)) {
        let syn = TcpRepr {
            src_port: 5555,
            dst_port: 80,
            seq_number: TcpSeqNumber(1000),
            flags: TcpFlags::SYN,
            window_len: 65535,
            window_scale: Some(7),
            timestamp: Some((5, 0)),
            max_seg_size: Some(1400),
            ..TcpRepr::default()
        };
        let iss = TcpSeqNumber(-5);
        let mut c = Connection::accept(Arc::new(TcpConfig::default()), SECONDS, tuple(), &syn, iss, 0);
        run(&mut c, &ops, TcpSeqNumber(1001), iss + 1);
    }

    #[test]
    fn active_connection_never_panics(ops in proptest::collection::vec(op(), 1..60)) {
        let iss = TcpSeqNumber::from_u32(u32::MAX - 10);
        let cfg = TcpConfig { timestamps: false, max_ooo_ranges: 3, ..TcpConfig::default() };
        let mut c = Connection::connect(Arc::new(cfg), SECONDS, tuple(), iss, 0);
        run(&mut c, &ops, TcpSeqNumber(77), iss + 1);
    }

    #[test]
    fn endpoint_never_panics_and_emits_parseable_segments(
        segs in proptest::collection::vec((any::<u16>(), any::<u32>(), any::<u32>(), any::<u8>(), 0usize..100), 1..40)
    ) {
        let mut ep = Endpoint::new(EndpointConfig::default());
        let local: std::net::SocketAddr = "10.0.0.1:80".parse().unwrap();
        ep.listen(local, 4).unwrap();
        let mut now = SECONDS;
        let mut buf = Vec::new();
        for (sport, seq, ack, flags, len) in segs {
            let tuple = FourTuple { local, remote: std::net::SocketAddr::new("10.0.0.9".parse().unwrap(), sport % 4) };
            let r = TcpRepr {
                src_port: tuple.remote.port(),
                dst_port: 80,
                seq_number: TcpSeqNumber::from_u32(seq % 64),
                ack_number: TcpSeqNumber::from_u32(ack),
                flags: TcpFlags(flags),
                window_len: 1000,
                payload_len: len,
                ..TcpRepr::default()
            };
            ep.handle_segment(now, tuple, &r, &vec![1; len]);
            now += 300 * MILLIS;
            ep.handle_timeout(now);
            while let Some(t) = ep.poll_transmit(now, &mut buf) {
                let bytes = common::encode(t.tuple, &t.repr, &buf);
                let pkt = TcpPacket::new_checked(&bytes[..]).unwrap();
                let back = TcpRepr::parse(&pkt, Some(&common::pseudo(t.tuple.local, t.tuple.remote))).unwrap();
                prop_assert_eq!(back, t.repr);
            }
            while ep.poll_event().is_some() {}
        }
    }
}
