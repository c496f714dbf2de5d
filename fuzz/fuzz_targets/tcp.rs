#![no_main]
//! Drives `wire::tcp::fuzz`: the checked view, every accessor, parse and the emit round trip.
libfuzzer_sys::fuzz_target!(|data: &[u8]| wire::tcp::fuzz(data));
