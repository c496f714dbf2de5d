#![no_main]
//! Drives `uplane::config::fuzz`: any bytes as a config file give a config or an error that
//! names the place, never a panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| uplane::config::fuzz(data));
