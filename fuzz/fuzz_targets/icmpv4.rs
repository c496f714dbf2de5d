#![no_main]
//! Drives `wire::icmpv4::fuzz`: the checked view, every accessor, parse and the emit round trip.
libfuzzer_sys::fuzz_target!(|data: &[u8]| wire::icmpv4::fuzz(data));
