//! Arbitrary bytes as an instance's tags, through the ledger decoder (see `lightsail_jit::checks`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lightsail_jit::checks::tag_bytes(data));
