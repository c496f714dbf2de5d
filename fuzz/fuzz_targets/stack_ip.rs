#![no_main]
//! Drives `stack::fuzz::stack_ip`: IP packets (and application calls, clock jumps) to an
//! `IpHost` with a listener and an established connection never panic, and its counters
//! and connection table stay within bounds.
libfuzzer_sys::fuzz_target!(|data: &[u8]| stack::fuzz::stack_ip(data));
