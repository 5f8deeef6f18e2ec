//! Wire faults: what a test asks the HTTP front to do to requests instead of (or before)
//! answering them.
//!
//! These live below the SDK, unlike the in-memory [`Sim`](crate::lightsail::sim::Sim)
//! faults, so they exercise what only a real client has: its retry classifiers (a 400
//! `ThrottlingException`, a 500 `ServiceException`), its timeouts (latency) and its I/O
//! errors (a dropped connection). Selection is seeded, so a probabilistic run repeats.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What an injected wire fault does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum FaultKind {
    /// 400 `ThrottlingException`.
    Throttle,
    /// 500 `ServiceException` (`InternalException` for EventBridge's `PutEvents`).
    ServerError,
    /// Answer normally, this much later.
    Latency { millis: u64 },
    /// Close the connection without an answer.
    Drop,
}

/// A wire fault: which operation (all when absent), what, and how often.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireFault {
    #[serde(default)]
    pub operation: Option<String>,
    pub kind: FaultKind,
    /// Strike this many times, then stop. Absent: no limit.
    #[serde(default)]
    pub times: Option<usize>,
    /// Strike with this probability (seeded, so runs repeat). Absent: always.
    #[serde(default)]
    pub probability: Option<f64>,
}

impl WireFault {
    pub fn new(operation: &str, kind: FaultKind) -> Self {
        WireFault {
            operation: Some(operation.to_string()),
            kind,
            times: None,
            probability: None,
        }
    }

    pub fn times(mut self, n: usize) -> Self {
        self.times = Some(n);
        self
    }

    pub fn probability(mut self, p: f64) -> Self {
        self.probability = Some(p);
        self
    }
}

/// What strikes one request of `operation`: the total latency to add, and the first
/// non-latency fault. Every fault that strikes uses up one of its `times`.
pub(super) fn striking(
    faults: &mut [WireFault],
    rng: &mut fastrand::Rng,
    operation: &str,
) -> (Duration, Option<FaultKind>) {
    let mut latency = Duration::ZERO;
    let mut strike = None;
    for fault in faults.iter_mut() {
        if fault.operation.as_deref().is_some_and(|op| op != operation) || fault.times == Some(0) {
            continue;
        }
        if let FaultKind::Latency { .. } = fault.kind {
        } else if strike.is_some() {
            continue;
        }
        if fault.probability.is_some_and(|p| rng.f64() >= p) {
            continue;
        }
        if let Some(n) = fault.times.as_mut() {
            *n -= 1;
        }
        match &fault.kind {
            FaultKind::Latency { millis } => latency += Duration::from_millis(*millis),
            other => strike = Some(other.clone()),
        }
    }
    (latency, strike)
}
