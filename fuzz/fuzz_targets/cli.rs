#![no_main]
//! Drives `ctl::fuzz::fuzz`: any bytes as a CLI request line or typed words give a command
//! or a one-line error with a real usage, never a panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ctl::fuzz::fuzz(data));
