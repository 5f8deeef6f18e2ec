//! Publishing a command's announcements: batched, retried once where EventBridge says a
//! retry can help, and every event that still did not go out logged and counted.
//!
//! Publishing runs after the decisions took effect and never changes them: whatever
//! the bus answers, the command's outcome (and so its retry by Lambda, SQS or the
//! schedule) is the same as without a bus. An event that cannot be published is a log
//! line with `eventNotPublished = 1` (a CloudWatch metric filter counts them; the
//! template alarms on it) naming the decision: its detail type, event id, request id
//! and instance.
//!
//! Whole-call failures were already retried by the SDK (standard retry, 3 attempts);
//! entries that failed inside an accepted call (`InternalFailure`, `ThrottlingException`)
//! are not, so they are sent once more. A retry can publish an event twice (a lost
//! answer); consumers dedupe on `detail.eventId`.

use futures::StreamExt;
use futures::future::BoxFuture;

use super::{BusError, EntryResult, EventBus, EventEntry, batches};
use crate::announce::{Announcement, SOURCE};

/// At most this many `PutEvents` calls of one command in flight.
const CONCURRENT_CALLS: usize = 4;

/// Any [`EventBus`], behind one pointer: the `App` holds a publisher without being
/// generic over the bus (the bus is chosen once, at cold start).
trait DynBus: Send + Sync {
    fn put<'a>(
        &'a self,
        entries: &'a [EventEntry],
    ) -> BoxFuture<'a, Result<Vec<EntryResult>, BusError>>;
}

impl<B: EventBus> DynBus for B {
    fn put<'a>(
        &'a self,
        entries: &'a [EventEntry],
    ) -> BoxFuture<'a, Result<Vec<EntryResult>, BusError>> {
        Box::pin(self.put_events(entries))
    }
}

/// The bus and its name (`JIT_EVENT_BUS`: a name or an ARN).
pub struct Publisher {
    bus: Box<dyn DynBus>,
    bus_name: String,
}

/// What became of a command's announcements.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivered {
    pub published: usize,
    /// Logged with `eventNotPublished = 1`.
    pub failed: usize,
}

/// Why an entry did not go out.
struct NotPublished {
    code: String,
    message: String,
    transient: bool,
}

impl Publisher {
    pub fn new(bus: impl EventBus + 'static, bus_name: impl Into<String>) -> Self {
        Publisher {
            bus: Box::new(bus),
            bus_name: bus_name.into(),
        }
    }

    pub fn bus_name(&self) -> &str {
        &self.bus_name
    }

    fn entry(&self, news: &Announcement) -> EventEntry {
        EventEntry {
            source: SOURCE.to_string(),
            detail_type: news.detail_type.as_str().to_string(),
            detail: news.detail.clone(),
            event_bus_name: self.bus_name.clone(),
        }
    }

    /// Publish `news` in as few calls as EventBridge allows (≤ 10 entries, ≤ 256 KB
    /// each); entries that failed transiently inside a call are sent once more.
    pub async fn publish(&self, news: &[Announcement]) -> Delivered {
        if news.is_empty() {
            return Delivered::default();
        }
        let entries: Vec<EventEntry> = news.iter().map(|n| self.entry(n)).collect();
        let mut outcome = self.send(&entries).await;
        let retry: Vec<usize> = (0..entries.len())
            .filter(|i| matches!(&outcome[*i], Err(why) if why.transient))
            .collect();
        if !retry.is_empty() {
            let again: Vec<EventEntry> = retry.iter().map(|i| entries[*i].clone()).collect();
            for (i, result) in retry.into_iter().zip(self.send(&again).await) {
                outcome[i] = result;
            }
        }
        let mut delivered = Delivered::default();
        for (news, result) in news.iter().zip(outcome) {
            match result {
                Ok(()) => delivered.published += 1,
                Err(why) => {
                    delivered.failed += 1;
                    tracing::warn!(
                        eventNotPublished = 1,
                        detailType = news.detail_type.as_str(),
                        eventId = news.event_id.as_str(),
                        requestId = news.request_id.as_str(),
                        instance = news.instance.as_deref().unwrap_or(""),
                        code = why.code.as_str(),
                        message = why.message.as_str(),
                        "event not published; the decision stands"
                    );
                }
            }
        }
        delivered
    }

    /// Put one entry of our own that is not a decision (a command handed on to the
    /// queue through the bus: `slack`'s deferral). `Err` carries EventBridge's code and
    /// message, after one retry of a transient entry failure.
    pub async fn put_one(&self, detail_type: &str, detail: String) -> Result<(), String> {
        let entry = EventEntry {
            source: SOURCE.to_string(),
            detail_type: detail_type.to_string(),
            detail,
            event_bus_name: self.bus_name.clone(),
        };
        let entries = [entry];
        let mut result = self.send(&entries).await;
        if matches!(result.first(), Some(Err(why)) if why.transient) {
            result = self.send(&entries).await;
        }
        match result.into_iter().next() {
            Some(Ok(())) => Ok(()),
            Some(Err(why)) => Err(format!("{}: {}", why.code, why.message)),
            None => Err("no result for the entry".to_string()),
        }
    }

    /// One result per entry, in order.
    async fn send(&self, entries: &[EventEntry]) -> Vec<Result<(), NotPublished>> {
        let calls = futures::stream::iter(batches(entries))
            .map(|chunk| async move {
                match self.bus.put(chunk).await {
                    Ok(results) if results.len() == chunk.len() => {
                        results.into_iter().map(entry_outcome).collect()
                    }
                    Ok(results) => {
                        let why = BusError::new(
                            false,
                            "InvalidResponse",
                            format!("{} results for {} entries", results.len(), chunk.len()),
                        );
                        chunk.iter().map(|_| Err(call_failed(&why))).collect()
                    }
                    Err(why) => chunk.iter().map(|_| Err(call_failed(&why))).collect(),
                }
            })
            .buffered(CONCURRENT_CALLS)
            .collect::<Vec<Vec<_>>>()
            .await;
        calls.into_iter().flatten().collect()
    }
}

fn entry_outcome(result: EntryResult) -> Result<(), NotPublished> {
    let transient = result.is_transient();
    match result {
        EntryResult::Published { .. } => Ok(()),
        EntryResult::Failed { code, message } => Err(NotPublished {
            code,
            message,
            transient,
        }),
    }
}

/// A whole call failed after the SDK's own retries: not retried again here.
fn call_failed(why: &BusError) -> NotPublished {
    NotPublished {
        code: why.code.clone(),
        message: why.message.clone(),
        transient: false,
    }
}
