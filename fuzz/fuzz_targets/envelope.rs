//! Arbitrary bytes as a Lambda payload and as an SQS body (see `lightsail_jit::checks`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lightsail_jit::checks::envelope_bytes(data));
