#![no_main]
//! Drives `vnet::fuzz::router`: Ethernet frames into the router graph never panic, every
//! buffer comes back to the pool, and the counters agree.
libfuzzer_sys::fuzz_target!(|data: &[u8]| vnet::fuzz::router(data));
