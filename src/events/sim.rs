//! The in-memory EventBridge: one bus that records every entry it accepts, refuses what
//! EventBridge refuses, and fails when a test says so.
//!
//! The rules it enforces are EventBridge's own, from the PutEvents API reference:
//!
//! * a call carries 1–[`MAX_ENTRIES_PER_CALL`] entries of at most [`MAX_REQUEST_BYTES`]
//!   in all, and every entry names a bus (the model's length constraints): otherwise the
//!   whole call is a `ValidationException`, permanent, and nothing is published;
//! * an entry without `Source`, `DetailType` or `Detail` fails alone with
//!   `InvalidArgument`, and one whose `Detail` is not a JSON object with
//!   `MalformedDetail`: the others in the call are still published (`FailedEntryCount`
//!   > 0), and the results stay in request order.
//!
//! Faults, for tests: whole calls fail ([`EventsSim::fail`]) before anything is
//! published or after (the events are recorded but the answer is lost, so a retry
//! publishes twice — EventBridge delivery is at least once); chosen entries fail with a
//! chosen code ([`EventsSim::fail_entries`]). Event ids are deterministic,
//! `sim-event-1`, `sim-event-2`… in acceptance order, and never reused.
//!
//! The HTTP front of the Lightsail simulator serves this bus as `PutEvents`
//! (`lightsail::sim::http`), so the real SDK meets the same rules.

use std::sync::{Mutex, MutexGuard};

use serde::Serialize;

use super::{BusError, EntryResult, EventBus, EventEntry, MAX_ENTRIES_PER_CALL, MAX_REQUEST_BYTES};

/// When an injected whole-call fault strikes (the same two moments as the Lightsail
/// simulator's; its own type, so this module imports nothing from `lightsail`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timing {
    /// Nothing is published (throttled, 5xx before processing).
    Before,
    /// The entries are published but the caller gets an error (a lost answer).
    After,
}

/// An entry the bus accepted, with the id it assigned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishedEvent {
    pub event_id: String,
    #[serde(flatten)]
    pub entry: EventEntry,
}

/// One `put_events` call as the bus saw it, and what it answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusCall {
    pub entries: Vec<EventEntry>,
    pub result: Result<Vec<EntryResult>, BusError>,
}

struct CallFault {
    remaining: usize,
    transient: bool,
    timing: Timing,
}

type Matcher = Box<dyn Fn(&EventEntry) -> bool + Send + Sync>;

struct EntryFault {
    matches: Matcher,
    code: String,
}

#[derive(Default)]
struct State {
    events: Vec<PublishedEvent>,
    calls: Vec<BusCall>,
    call_faults: Vec<CallFault>,
    entry_faults: Vec<EntryFault>,
    next_id: u64,
}

#[derive(Default)]
pub struct EventsSim {
    state: Mutex<State>,
}

impl EventsSim {
    pub fn new() -> Self {
        EventsSim::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every accepted entry, in order.
    pub fn events(&self) -> Vec<PublishedEvent> {
        self.lock().events.clone()
    }

    /// Every call, refused and failed ones included.
    pub fn calls(&self) -> Vec<BusCall> {
        self.lock().calls.clone()
    }

    /// Forget the events and calls seen so far (faults stay; ids keep counting).
    pub fn clear(&self) {
        let mut state = self.lock();
        state.events.clear();
        state.calls.clear();
    }

    /// The next `times` calls fail whole before anything is published: transient
    /// (`InternalException`) or permanent (`AccessDeniedException`).
    pub fn fail(&self, times: usize, transient: bool) {
        self.fail_with(times, transient, Timing::Before);
    }

    /// Like [`fail`](Self::fail); with [`Timing::After`] the call is processed (its
    /// entries recorded) and then the answer is lost.
    pub fn fail_with(&self, times: usize, transient: bool, timing: Timing) {
        self.lock().call_faults.push(CallFault {
            remaining: times,
            transient,
            timing,
        });
    }

    /// From now on every valid entry `matching` fails alone with `code` (a partial
    /// failure), until [`clear_faults`](Self::clear_faults).
    pub fn fail_entries(
        &self,
        matching: impl Fn(&EventEntry) -> bool + Send + Sync + 'static,
        code: &str,
    ) {
        self.lock().entry_faults.push(EntryFault {
            matches: Box::new(matching),
            code: code.to_string(),
        });
    }

    pub fn clear_faults(&self) {
        let mut state = self.lock();
        state.call_faults.clear();
        state.entry_faults.clear();
    }

    fn call(&self, entries: &[EventEntry]) -> Result<Vec<EntryResult>, BusError> {
        let mut state = self.lock();
        let fault = state
            .call_faults
            .iter_mut()
            .find(|f| f.remaining > 0)
            .map(|f| {
                f.remaining -= 1;
                (f.transient, f.timing)
            });
        let result = match fault {
            Some((transient, Timing::Before)) => Err(injected(transient)),
            Some((transient, Timing::After)) => {
                state.accept(entries).and_then(|_| Err(injected(transient)))
            }
            None => state.accept(entries),
        };
        state.calls.push(BusCall {
            entries: entries.to_vec(),
            result: result.clone(),
        });
        result
    }
}

impl State {
    fn accept(&mut self, entries: &[EventEntry]) -> Result<Vec<EntryResult>, BusError> {
        validate_call(entries)?;
        let mut results = Vec::with_capacity(entries.len());
        for entry in entries {
            let refusal = entry_refusal(entry).or_else(|| {
                self.entry_faults
                    .iter()
                    .find(|f| (f.matches)(entry))
                    .map(|f| (f.code.clone(), "injected by the simulator".to_string()))
            });
            results.push(match refusal {
                Some((code, message)) => EntryResult::Failed { code, message },
                None => {
                    self.next_id += 1;
                    let event_id = format!("sim-event-{}", self.next_id);
                    self.events.push(PublishedEvent {
                        event_id: event_id.clone(),
                        entry: entry.clone(),
                    });
                    EntryResult::Published { event_id }
                }
            });
        }
        Ok(results)
    }
}

fn injected(transient: bool) -> BusError {
    let code = if transient {
        "InternalException"
    } else {
        "AccessDeniedException"
    };
    BusError::new(transient, code, "injected by the simulator")
}

fn validation(message: String) -> BusError {
    BusError::new(false, "ValidationException", message)
}

/// The call-level constraints: the list's length, the request's size, the bus names.
fn validate_call(entries: &[EventEntry]) -> Result<(), BusError> {
    if entries.is_empty() || entries.len() > MAX_ENTRIES_PER_CALL {
        let bound = if entries.is_empty() {
            "greater than or equal to 1".to_string()
        } else {
            format!("less than or equal to {MAX_ENTRIES_PER_CALL}")
        };
        return Err(validation(format!(
            "1 validation error detected: Value at 'entries' failed to satisfy constraint: \
             Member must have length {bound}"
        )));
    }
    if entries.iter().map(EventEntry::size).sum::<usize>() > MAX_REQUEST_BYTES {
        return Err(validation(
            "Total size of the entries in the request is over the limit.".into(),
        ));
    }
    if let Some(i) = entries.iter().position(|e| e.event_bus_name.is_empty()) {
        return Err(validation(format!(
            "1 validation error detected: Value '' at 'entries.{}.member.eventBusName' failed \
             to satisfy constraint: Member must have length greater than or equal to 1",
            i + 1
        )));
    }
    Ok(())
}

/// Why EventBridge would refuse this one entry: `(code, message)`.
fn entry_refusal(entry: &EventEntry) -> Option<(String, String)> {
    let missing = [
        ("Source", &entry.source),
        ("DetailType", &entry.detail_type),
        ("Detail", &entry.detail),
    ]
    .into_iter()
    .find(|(_, value)| value.is_empty());
    if let Some((field, _)) = missing {
        return Some((
            "InvalidArgument".into(),
            format!("Parameter {field} is not valid. Reason: {field} is a required argument."),
        ));
    }
    let object = serde_json::from_str::<serde_json::Value>(&entry.detail)
        .is_ok_and(|detail| detail.is_object());
    (!object).then(|| ("MalformedDetail".into(), "Detail is malformed.".into()))
}

impl EventBus for EventsSim {
    async fn put_events(&self, entries: &[EventEntry]) -> Result<Vec<EntryResult>, BusError> {
        self.call(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: usize) -> EventEntry {
        EventEntry {
            source: "lightsail-jit".into(),
            detail_type: "Grant".into(),
            detail: format!(r#"{{"n":{n}}}"#),
            event_bus_name: "jit".into(),
        }
    }

    fn put(bus: &EventsSim, entries: &[EventEntry]) -> Result<Vec<EntryResult>, BusError> {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(bus.put_events(entries))
    }

    fn published(id: &str) -> EntryResult {
        EntryResult::Published {
            event_id: id.into(),
        }
    }

    fn code(result: &EntryResult) -> &str {
        match result {
            EntryResult::Failed { code, .. } => code,
            EntryResult::Published { .. } => "",
        }
    }

    #[test]
    fn accepted_entries_are_recorded_with_deterministic_ids_in_order() {
        let bus = EventsSim::new();
        let results = put(&bus, &[entry(1), entry(2)]).unwrap();
        assert_eq!(
            results,
            vec![published("sim-event-1"), published("sim-event-2")]
        );
        assert_eq!(
            put(&bus, &[entry(3)]).unwrap(),
            vec![published("sim-event-3")]
        );
        let events = bus.events();
        assert_eq!(events.len(), 3);
        assert_eq!(events[1].event_id, "sim-event-2");
        assert_eq!(events[1].entry, entry(2));
        assert_eq!(bus.calls().len(), 2);
        assert_eq!(bus.calls()[0].entries, vec![entry(1), entry(2)]);
    }

    #[test]
    fn a_call_needs_one_to_ten_entries() {
        let bus = EventsSim::new();
        for n in [0, 11] {
            let entries: Vec<_> = (0..n).map(entry).collect();
            let err = put(&bus, &entries).unwrap_err();
            assert_eq!(err.code, "ValidationException", "{n} entries");
            assert!(!err.transient);
        }
        let ten: Vec<_> = (0..10).map(entry).collect();
        assert_eq!(put(&bus, &ten).unwrap().len(), 10);
        assert_eq!(bus.events().len(), 10, "only the valid call published");
    }

    #[test]
    fn a_call_over_256_kb_is_refused_whole() {
        let bus = EventsSim::new();
        let mut big = entry(0);
        big.detail = format!(r#"{{"x":"{}"}}"#, "a".repeat(MAX_REQUEST_BYTES / 2));
        let err = put(&bus, &[big.clone(), big.clone()]).unwrap_err();
        assert_eq!(err.code, "ValidationException");
        assert!(put(&bus, &[big]).is_ok());
    }

    #[test]
    fn every_entry_must_name_a_bus() {
        let bus = EventsSim::new();
        let mut nameless = entry(2);
        nameless.event_bus_name.clear();
        let err = put(&bus, &[entry(1), nameless]).unwrap_err();
        assert_eq!(err.code, "ValidationException");
        assert!(
            err.message.contains("entries.2.member.eventBusName"),
            "{err}"
        );
        assert!(bus.events().is_empty());
    }

    #[test]
    fn missing_members_fail_that_entry_with_invalid_argument() {
        let bus = EventsSim::new();
        let mut no_source = entry(1);
        no_source.source.clear();
        let mut no_type = entry(2);
        no_type.detail_type.clear();
        let mut no_detail = entry(3);
        no_detail.detail.clear();
        let results = put(&bus, &[no_source, entry(9), no_type, no_detail]).unwrap();
        assert_eq!(
            results.iter().map(code).collect::<Vec<_>>(),
            vec!["InvalidArgument", "", "InvalidArgument", "InvalidArgument"]
        );
        assert!(
            matches!(&results[2], EntryResult::Failed { message, .. } if message.contains("DetailType"))
        );
        assert_eq!(results[1], published("sim-event-1"));
        assert_eq!(bus.events().len(), 1);
    }

    #[test]
    fn a_detail_that_is_not_a_json_object_is_malformed() {
        let bus = EventsSim::new();
        for detail in ["[1]", "\"text\"", "{\"a\":", "42", "null"] {
            let mut e = entry(0);
            e.detail = detail.into();
            let results = put(&bus, &[e]).unwrap();
            assert_eq!(code(&results[0]), "MalformedDetail", "{detail}");
        }
        assert!(bus.events().is_empty());
    }

    #[test]
    fn whole_call_faults_before_publish_nothing() {
        let bus = EventsSim::new();
        bus.fail(1, true);
        bus.fail(1, false);
        let err = put(&bus, &[entry(1)]).unwrap_err();
        assert!(err.transient && err.code == "InternalException", "{err}");
        let err = put(&bus, &[entry(1)]).unwrap_err();
        assert!(
            !err.transient && err.code == "AccessDeniedException",
            "{err}"
        );
        assert!(bus.events().is_empty());
        assert_eq!(
            put(&bus, &[entry(1)]).unwrap(),
            vec![published("sim-event-1")]
        );
        assert_eq!(bus.calls().len(), 3);
        assert!(bus.calls()[0].result.is_err());
    }

    #[test]
    fn a_fault_after_records_the_events_but_loses_the_answer() {
        let bus = EventsSim::new();
        bus.fail_with(1, true, Timing::After);
        assert!(put(&bus, &[entry(1)]).unwrap_err().transient);
        assert_eq!(
            bus.events().len(),
            1,
            "published, though the caller saw an error"
        );
        // The caller retries: at least once means twice here.
        put(&bus, &[entry(1)]).unwrap();
        let ids: Vec<_> = bus.events().into_iter().map(|e| e.event_id).collect();
        assert_eq!(ids, vec!["sim-event-1", "sim-event-2"]);
    }

    #[test]
    fn entry_faults_fail_exactly_the_matching_entries() {
        let bus = EventsSim::new();
        bus.fail_entries(|e| e.detail.contains("\"n\":2"), "ThrottlingException");
        let results = put(&bus, &[entry(1), entry(2), entry(3)]).unwrap();
        assert_eq!(results[0], published("sim-event-1"));
        assert_eq!(code(&results[1]), "ThrottlingException");
        assert!(results[1].is_transient());
        assert_eq!(results[2], published("sim-event-2"));
        bus.clear_faults();
        assert!(put(&bus, &[entry(2)]).unwrap()[0].is_published());
    }

    #[test]
    fn validation_wins_over_an_injected_entry_fault() {
        let bus = EventsSim::new();
        bus.fail_entries(|_| true, "ThrottlingException");
        let mut bad = entry(1);
        bad.detail = "[]".into();
        assert_eq!(code(&put(&bus, &[bad]).unwrap()[0]), "MalformedDetail");
    }

    #[test]
    fn clear_forgets_events_and_calls_but_ids_keep_counting() {
        let bus = EventsSim::new();
        put(&bus, &[entry(1)]).unwrap();
        bus.clear();
        assert!(bus.events().is_empty() && bus.calls().is_empty());
        assert_eq!(
            put(&bus, &[entry(2)]).unwrap(),
            vec![published("sim-event-2")]
        );
    }

    #[test]
    fn published_events_serialize_flat_in_camel_case() {
        let event = PublishedEvent {
            event_id: "sim-event-1".into(),
            entry: entry(1),
        };
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            serde_json::json!({"eventId": "sim-event-1", "source": "lightsail-jit",
                "detailType": "Grant", "detail": "{\"n\":1}", "eventBusName": "jit"})
        );
    }
}
