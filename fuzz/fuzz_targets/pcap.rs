#![no_main]
//! Drives `io::pcap::fuzz`: pcap and pcapng files of any bytes must give records or a
//! named error, never a panic or an unbounded allocation.
libfuzzer_sys::fuzz_target!(|data: &[u8]| io::pcap::fuzz(data));
