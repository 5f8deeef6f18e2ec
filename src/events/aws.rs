//! [`EventBus`] over aws-sdk-eventbridge.
//!
//! Built from the same [`SdkConfig`] as the Lightsail client
//! ([`crate::lightsail::aws::sdk_config_from_env`]), so both share one HTTPS client
//! (the Amazon-only trust store), one credentials cache and the same timeouts and
//! retries; the endpoint can be overridden on its own with
//! `AWS_ENDPOINT_URL_EVENTBRIDGE` (the SDK's service id is `EventBridge`).
//!
//! The adapter only translates. A whole-call error is transient when its wire code says
//! throttling or an internal error, or its status is 429/5xx, or no answer came
//! (timeout, dropped connection); anything else is permanent. The SDK's standard retry
//! has already retried the transient ones (3 attempts) — which can publish an entry
//! twice if an answer was lost: EventBridge is at least once, so consumers dedupe. An
//! entry answered with an `ErrorCode` is [`EntryResult::Failed`].

use aws_config::SdkConfig;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::config::http::HttpResponse;
use aws_sdk_eventbridge::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_eventbridge::operation::put_events::PutEventsError;
use aws_sdk_eventbridge::types::{PutEventsRequestEntry, PutEventsResultEntry};

use super::{BusError, EntryResult, EventBus, EventEntry, is_transient_code};

pub struct AwsEventBus {
    client: Client,
}

impl AwsEventBus {
    pub fn new(client: Client) -> Self {
        AwsEventBus { client }
    }

    /// A client over a configuration already loaded for Lightsail. Reads
    /// `AWS_ENDPOINT_URL_EVENTBRIDGE` now, if set; makes no network call.
    pub fn from_config(config: &SdkConfig) -> Self {
        AwsEventBus::new(Client::new(config))
    }
}

/// An [`AwsEventBus`] built at its first `PutEvents`, not at cold start: building the
/// client (its configuration, endpoint resolver and interceptors) was half again the
/// whole cold start (BENCHMARKS.md, #12), and an invocation that decides nothing never
/// needs it. The configuration is the one already loaded for Lightsail (cheap to keep:
/// it is shared pointers).
pub struct LazyAwsEventBus {
    config: SdkConfig,
    bus: std::sync::OnceLock<AwsEventBus>,
}

impl LazyAwsEventBus {
    pub fn new(config: &SdkConfig) -> Self {
        LazyAwsEventBus {
            config: config.clone(),
            bus: std::sync::OnceLock::new(),
        }
    }
}

impl EventBus for LazyAwsEventBus {
    async fn put_events(&self, entries: &[EventEntry]) -> Result<Vec<EntryResult>, BusError> {
        let bus = self
            .bus
            .get_or_init(|| AwsEventBus::from_config(&self.config));
        bus.put_events(entries).await
    }
}

fn to_request_entry(entry: &EventEntry) -> PutEventsRequestEntry {
    PutEventsRequestEntry::builder()
        .source(&entry.source)
        .detail_type(&entry.detail_type)
        .detail(&entry.detail)
        .event_bus_name(&entry.event_bus_name)
        .build()
}

fn to_entry_result(entry: &PutEventsResultEntry) -> EntryResult {
    match (entry.error_code(), entry.event_id()) {
        (Some(code), _) if !code.is_empty() => EntryResult::Failed {
            code: code.to_string(),
            message: entry.error_message().unwrap_or_default().to_string(),
        },
        (_, Some(id)) if !id.is_empty() => EntryResult::Published {
            event_id: id.to_string(),
        },
        _ => EntryResult::Failed {
            code: "MissingEventId".into(),
            message: "EventBridge answered neither an event id nor an error code".into(),
        },
    }
}

fn bus_error(err: SdkError<PutEventsError, HttpResponse>) -> BusError {
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code().unwrap_or(match &err {
        SdkError::TimeoutError(_) => "Timeout",
        SdkError::DispatchFailure(_) => "DispatchFailure",
        SdkError::ConstructionFailure(_) => "ConstructionFailure",
        SdkError::ResponseError(_) => "ResponseError",
        _ => "Unknown",
    });
    let transient = match &err {
        SdkError::ServiceError(_) => is_transient_code(code, status),
        SdkError::ConstructionFailure(_) => false,
        // No (usable) answer: timeouts, dropped connections, unreadable responses.
        _ => true,
    };
    BusError::new(transient, code, DisplayErrorContext(&err).to_string())
}

impl EventBus for AwsEventBus {
    async fn put_events(&self, entries: &[EventEntry]) -> Result<Vec<EntryResult>, BusError> {
        let out = self
            .client
            .put_events()
            .set_entries(Some(entries.iter().map(to_request_entry).collect()))
            .send()
            .await
            .map_err(bus_error)?;
        let results: Vec<EntryResult> = out.entries().iter().map(to_entry_result).collect();
        // Results are positional; with a different count none can be matched to its entry.
        // Permanent: a retry could publish the entries that did go through a second time.
        if results.len() != entries.len() {
            return Err(BusError::new(
                false,
                "InvalidResponse",
                format!(
                    "{} results for {} entries (FailedEntryCount {})",
                    results.len(),
                    entries.len(),
                    out.failed_entry_count()
                ),
            ));
        }
        Ok(results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_entries_carry_every_member() {
        let entry = EventEntry {
            source: "lightsail-jit".into(),
            detail_type: "Grant".into(),
            detail: r#"{"a":1}"#.into(),
            event_bus_name: "jit".into(),
        };
        let sdk = to_request_entry(&entry);
        assert_eq!(sdk.source(), Some("lightsail-jit"));
        assert_eq!(sdk.detail_type(), Some("Grant"));
        assert_eq!(sdk.detail(), Some(r#"{"a":1}"#));
        assert_eq!(sdk.event_bus_name(), Some("jit"));
        assert!(sdk.time().is_none() && sdk.resources().is_empty());
    }

    #[test]
    fn an_error_code_makes_an_entry_failed() {
        let ok = PutEventsResultEntry::builder().event_id("e-1").build();
        assert_eq!(
            to_entry_result(&ok),
            EntryResult::Published {
                event_id: "e-1".into()
            }
        );
        let failed = PutEventsResultEntry::builder()
            .error_code("MalformedDetail")
            .error_message("Detail is malformed.")
            .build();
        assert_eq!(
            to_entry_result(&failed),
            EntryResult::Failed {
                code: "MalformedDetail".into(),
                message: "Detail is malformed.".into()
            }
        );
        let empty = PutEventsResultEntry::builder().build();
        assert!(
            matches!(to_entry_result(&empty), EntryResult::Failed { code, .. } if code == "MissingEventId")
        );
    }
}
