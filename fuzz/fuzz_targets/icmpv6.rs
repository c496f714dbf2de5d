#![no_main]
//! Drives `wire::icmpv6::fuzz`: the checked view, every accessor, parse and the emit round trip.
libfuzzer_sys::fuzz_target!(|data: &[u8]| wire::icmpv6::fuzz(data));
