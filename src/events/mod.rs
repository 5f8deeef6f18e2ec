//! The seam between the product and Amazon EventBridge: every decision, published as an
//! event (issue #12), through one call, `PutEvents`.
//!
//! **Why publishing is plumbing and never a decision.** An event is published *after* the
//! decision it reports took effect (the tag written, the port opened or closed), and
//! nothing about the decision depends on it: a bus that refuses, throttles or is down
//! changes no firewall, no ledger and no answer. The firewall and the tags stay the
//! truth; the event is news about them. So this module knows nothing about commands or
//! outcomes: it carries [`EventEntry`]s (the detail is JSON text the caller already
//! made) and reports, entry by entry, what EventBridge answered.
//!
//! [`aws`] implements [`EventBus`] with aws-sdk-eventbridge over the same SDK
//! configuration (HTTP client, trust store, credentials) as the Lightsail client;
//! [`sim`] is an in-memory bus with EventBridge's limits and injectable faults, also
//! served over HTTP by the Lightsail simulator's server (`jit-sim`).
//!
//! **No bus** is `Option<B>` at the use site, not a bus that answers "published": a
//! stand-in would have to invent event ids or break "one result per entry", and the
//! caller should not even build the details when nothing will carry them. [`NoBus`] is
//! an uninhabited type that only names `B` when there is no bus: `None::<NoBus>` costs
//! nothing and can never be called.

#[cfg(feature = "aws")]
pub mod aws;
mod publish;
pub mod sim;

use std::future::Future;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use publish::{Delivered, Publisher};

/// The most entries one `PutEvents` call accepts (the API's `Entries` list is 1–10).
pub const MAX_ENTRIES_PER_CALL: usize = 10;

/// The most one `PutEvents` request may carry, in entry bytes as
/// [`EventEntry::size`] counts them (256 KB). EventBridge raised its event size limit
/// to 1 MB in January 2026, but the service documentation still states 256 KB per
/// request; the smaller budget is valid under both.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// One PutEvents entry as we send it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventEntry {
    pub source: String,
    pub detail_type: String,
    /// JSON text; EventBridge requires a JSON object.
    pub detail: String,
    pub event_bus_name: String,
}

impl EventEntry {
    /// The entry's size as EventBridge counts it against [`MAX_REQUEST_BYTES`]: the
    /// UTF-8 bytes of `Source`, `DetailType` and `Detail` (plus 14 bytes for `Time` and
    /// each `Resources` string, neither of which we send; `EventBusName` does not
    /// count). Source: "Calculating Amazon EventBridge PutEvents event entry size",
    /// EventBridge User Guide,
    /// <https://docs.aws.amazon.com/eventbridge/latest/userguide/calculate-putevents-entry-size.html>.
    pub fn size(&self) -> usize {
        self.source.len() + self.detail_type.len() + self.detail.len()
    }
}

/// What EventBridge answered for one entry, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryResult {
    Published { event_id: String },
    Failed { code: String, message: String },
}

impl EntryResult {
    pub fn is_published(&self) -> bool {
        matches!(self, EntryResult::Published { .. })
    }

    /// A failed entry that the same entry could pass later: EventBridge documents
    /// `InternalFailure` and `ThrottlingException` as the retryable entry codes
    /// (PutEventsResultEntry, EventBridge API Reference); every other code
    /// (`InvalidArgument`, `MalformedDetail`, `AccessDeniedException`…) fails again.
    pub fn is_transient(&self) -> bool {
        match self {
            EntryResult::Published { .. } => false,
            EntryResult::Failed { code, .. } => is_transient_code(code, None),
        }
    }
}

/// A whole `PutEvents` call failed: nothing in it is known to be published (unless the
/// answer was lost after EventBridge accepted it, which a caller cannot tell apart).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("PutEvents failed: {code}: {message}")]
pub struct BusError {
    /// Throttling, 5xx, timeouts, no answer: the same call may succeed later.
    pub transient: bool,
    /// The wire error code (`ValidationException`, `ThrottlingException`,
    /// `InternalException`…), or ours for failures without one (`Timeout`,
    /// `DispatchFailure`).
    pub code: String,
    pub message: String,
}

impl BusError {
    pub fn new(transient: bool, code: &str, message: impl Into<String>) -> Self {
        BusError {
            transient,
            code: code.to_string(),
            message: message.into(),
        }
    }
}

/// Whether an EventBridge error code (for a call or for one entry), or failing that
/// the HTTP status, means "try again later".
pub fn is_transient_code(code: &str, status: Option<u16>) -> bool {
    match code {
        "ThrottlingException"
        | "InternalException"
        | "InternalFailure"
        | "ServiceUnavailable"
        | "RequestTimeout"
        | "RequestTimeoutException" => true,
        _ => matches!(status, Some(429) | Some(500..=599)),
    }
}

/// The one EventBridge call the function makes. Implementations must be cheap to share.
pub trait EventBus: Send + Sync {
    /// At most [`MAX_ENTRIES_PER_CALL`] entries; one result per entry, in order.
    /// Entries are passed on as they are: an empty or oversized call is refused by the
    /// bus (`ValidationException`), as EventBridge refuses it; [`batches`] never
    /// makes one.
    fn put_events(
        &self,
        entries: &[EventEntry],
    ) -> impl Future<Output = Result<Vec<EntryResult>, BusError>> + Send;
}

/// A shared reference is as good a bus as the value (the service holds references).
impl<T: EventBus> EventBus for &T {
    fn put_events(
        &self,
        entries: &[EventEntry],
    ) -> impl Future<Output = Result<Vec<EntryResult>, BusError>> + Send {
        (**self).put_events(entries)
    }
}

/// A bus shared with whoever else holds it (a test keeps the simulator to read it).
impl<T: EventBus + ?Sized> EventBus for Arc<T> {
    fn put_events(
        &self,
        entries: &[EventEntry],
    ) -> impl Future<Output = Result<Vec<EntryResult>, BusError>> + Send {
        (**self).put_events(entries)
    }
}

/// `JIT_EVENT_BUS` does not name an event bus.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "JIT_EVENT_BUS {0}: must be an EventBridge bus name (1-256 of A-Z a-z 0-9 . _ - /) or its ARN (arn:<partition>:events:<region>:<account>:event-bus/<name>)"
)]
pub struct BusNameError(String);

/// The bus to publish on, from `JIT_EVENT_BUS`: `None` (publish nothing) when unset or
/// empty. Checked at cold start, so a typo stops the function instead of failing every
/// publish later.
pub fn bus_name_from_env() -> Result<Option<String>, BusNameError> {
    match std::env::var("JIT_EVENT_BUS") {
        Ok(value) if !value.trim().is_empty() => check_bus_name(&value).map(Some),
        _ => Ok(None),
    }
}

pub fn check_bus_name(value: &str) -> Result<String, BusNameError> {
    let is_name = |name: &str| {
        (1..=256).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-_/".contains(&b))
    };
    let valid = match value.strip_prefix("arn:") {
        Some(arn) => {
            let parts: Vec<&str> = arn.splitn(5, ':').collect();
            matches!(parts.as_slice(), [partition, "events", region, account, resource]
                if partition.starts_with("aws")
                    && !region.is_empty()
                    && account.len() == 12
                    && account.bytes().all(|b| b.is_ascii_digit())
                    && resource.strip_prefix("event-bus/").is_some_and(is_name))
        }
        None => is_name(value),
    };
    match valid {
        true => Ok(value.to_string()),
        false => Err(BusNameError(crate::command::printable(value, 80))),
    }
}

/// No bus at all: names the type of `None` in an `Option<B>` (see the module docs).
/// Uninhabited, so no value exists and `put_events` can never run.
#[derive(Clone, Copy, Debug)]
pub enum NoBus {}

impl EventBus for NoBus {
    async fn put_events(&self, _entries: &[EventEntry]) -> Result<Vec<EntryResult>, BusError> {
        match *self {}
    }
}

/// `entries` in order, as consecutive chunks each fit for one `PutEvents` call: at most
/// [`MAX_ENTRIES_PER_CALL`] entries and at most [`MAX_REQUEST_BYTES`] by
/// [`EventEntry::size`]. Greedy: a chunk ends only when the next entry would not fit.
/// An entry over the byte limit on its own gets a chunk of its own (EventBridge will
/// refuse it; dropping it here would hide that). Never yields an empty chunk.
pub fn batches(entries: &[EventEntry]) -> impl Iterator<Item = &[EventEntry]> {
    let mut rest = entries;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut bytes = 0;
        let mut len = 0;
        for entry in rest.iter().take(MAX_ENTRIES_PER_CALL) {
            let size = entry.size();
            if len > 0 && bytes + size > MAX_REQUEST_BYTES {
                break;
            }
            bytes += size;
            len += 1;
        }
        let (chunk, tail) = rest.split_at(len);
        rest = tail;
        Some(chunk)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(detail_len: usize) -> EventEntry {
        EventEntry {
            source: "jit".into(),
            detail_type: "Grant".into(),
            detail: format!("{{\"x\":\"{}\"}}", "a".repeat(detail_len.saturating_sub(8))),
            event_bus_name: "default".into(),
        }
    }

    fn lens(entries: &[EventEntry]) -> Vec<usize> {
        batches(entries).map(<[EventEntry]>::len).collect()
    }

    #[test]
    fn size_counts_utf8_bytes_of_source_detail_type_and_detail_only() {
        let e = EventEntry {
            source: "jit".into(),
            detail_type: "Grant é".into(),
            detail: "{}".into(),
            event_bus_name: "a-very-long-bus-name-that-does-not-count".into(),
        };
        assert_eq!(e.size(), 3 + 8 + 2, "é is two bytes; the bus name is free");
    }

    #[test]
    fn batches_split_at_ten_entries() {
        let many: Vec<_> = (0..23).map(|_| entry(20)).collect();
        assert_eq!(lens(&many), vec![10, 10, 3]);
        assert_eq!(lens(&many[..10]), vec![10]);
        assert_eq!(lens(&[]), Vec::<usize>::new());
    }

    #[test]
    fn batches_respect_the_request_byte_limit_and_keep_order() {
        // 100 KB details: two fit in 256 KB, a third does not.
        let big: Vec<_> = (0..5).map(|_| entry(100 * 1024)).collect();
        assert_eq!(lens(&big), vec![2, 2, 1]);
        for chunk in batches(&big) {
            assert!(chunk.iter().map(EventEntry::size).sum::<usize>() <= MAX_REQUEST_BYTES);
        }
        let joined: Vec<_> = batches(&big).flatten().cloned().collect();
        assert_eq!(joined, big);
    }

    #[test]
    fn an_entry_exactly_at_the_limit_fits_and_one_over_stands_alone() {
        let header = entry(0).size() - entry(0).detail.len();
        let exact = entry(MAX_REQUEST_BYTES - header);
        assert_eq!(exact.size(), MAX_REQUEST_BYTES);
        assert_eq!(lens(&[exact.clone(), entry(10)]), vec![1, 1]);
        let over = entry(MAX_REQUEST_BYTES + 1);
        assert_eq!(lens(&[entry(10), over, entry(10)]), vec![1, 1, 1]);
    }

    #[test]
    fn entry_codes_documented_as_retryable_are_transient() {
        let failed = |code: &str| EntryResult::Failed {
            code: code.into(),
            message: String::new(),
        };
        assert!(failed("InternalFailure").is_transient());
        assert!(failed("ThrottlingException").is_transient());
        assert!(!failed("MalformedDetail").is_transient());
        assert!(!failed("InvalidArgument").is_transient());
        let published = EntryResult::Published {
            event_id: "e".into(),
        };
        assert!(!published.is_transient() && published.is_published());
    }

    #[test]
    fn call_errors_are_transient_by_code_then_status() {
        assert!(is_transient_code("ThrottlingException", Some(400)));
        assert!(is_transient_code("InternalException", Some(500)));
        assert!(is_transient_code("SomethingNew", Some(503)));
        assert!(!is_transient_code("ValidationException", Some(400)));
        assert!(!is_transient_code("AccessDeniedException", Some(400)));
        assert!(!is_transient_code("SomethingNew", None));
    }
}
