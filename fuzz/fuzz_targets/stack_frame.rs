#![no_main]
//! Drives `stack::fuzz::stack_frame`: Ethernet frames (ARP, ND, ICMP, TCP, UDP; and
//! application calls, clock jumps) to an `iface::Interface` with a listener and an
//! established connection never panic, and its counters and tables stay within bounds.
libfuzzer_sys::fuzz_target!(|data: &[u8]| stack::fuzz::stack_frame(data));
