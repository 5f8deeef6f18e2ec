//! Properties checked on arbitrary bytes, shared by the fuzz targets (`fuzz/`) and the
//! regression test that replays their seeds and every crash they ever found
//! (`tests/fuzz_regressions.rs`). Each function panics when a property breaks: that is
//! how a fuzzer learns about it.

use serde_json::Value;

use crate::envelope::Payload;
use crate::ledger::{Ledger, Tag, decode_grant, encode_baseline, encode_grant};
use crate::strict_json;

/// Longest rejection message any input may produce (nothing huge is echoed back).
pub const MAX_MESSAGE: usize = 1_000;

/// Bytes as a Lambda payload and as an SQS body: classification is total, the strict
/// parser agrees with serde_json whenever it accepts, and messages stay short.
pub fn envelope_bytes(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(value) = strict_json::parse(text) {
        let loose: Value = serde_json::from_str(text).expect("strict JSON is JSON");
        assert_eq!(value, loose, "the strict parser reads the same value");
        check(Payload::from_value(&value, "fuzz"));
    }
    let batch = serde_json::json!({"Records": [{"messageId": "m", "body": text}]});
    check(Payload::from_value(&batch, "fuzz"));
}

fn check(payload: Result<Payload, crate::envelope::UnreportableRecord>) {
    let deliveries = match payload {
        Ok(Payload::Single(d)) => vec![*d],
        Ok(Payload::Batch(records)) => records.into_iter().map(|r| r.delivery).collect(),
        Err(_) => return,
    };
    for delivery in deliveries {
        if let Err(rejection) = delivery.command {
            assert!(!rejection.message.is_empty());
            assert!(
                rejection.message.len() <= MAX_MESSAGE,
                "message of {} bytes",
                rejection.message.len()
            );
        }
    }
}

/// Bytes as tags (`key<TAB>value` or `key` per line): the ledger decodes without
/// panicking, and whatever it decodes re-encodes to tags that decode to the same thing.
pub fn tag_bytes(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let tags: Vec<Tag> = text
        .lines()
        .map(|line| match line.split_once('\t') {
            Some((key, value)) => Tag::new(key, value),
            None => Tag {
                key: line.to_string(),
                value: None,
            },
        })
        .collect();
    let ledger = Ledger::read(&tags);
    for grant in &ledger.grants {
        if let Ok(tag) = encode_grant(grant) {
            let again = decode_grant(&tag.key, tag.value.as_deref().unwrap_or_default());
            assert_eq!(again.as_ref(), Some(grant), "grant round trip");
        }
    }
    if let Some(baseline) = &ledger.baseline
        && let Ok(encoded) = encode_baseline(baseline)
    {
        assert_eq!(
            Ledger::read(&encoded).baseline.as_ref(),
            Some(baseline),
            "baseline round trip"
        );
    }
}
