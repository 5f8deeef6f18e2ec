//! Time as a dependency. Expiry is the product, so tests move time by hand instead of
//! sleeping; production reads the system clock.

use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serializer;

pub trait Clock: Send + Sync {
    /// Now, truncated to whole seconds (the ledger's resolution).
    fn now(&self) -> Timestamp;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        whole_second(Timestamp::now())
    }
}

/// A clock that only moves when told to.
pub struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        ManualClock(Mutex::new(whole_second(start)))
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now = later(*now, by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn whole_second(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap_or(t)
}

/// `t + by`, saturating at the largest timestamp jiff represents.
pub fn later(t: Timestamp, by: Duration) -> Timestamp {
    let secs = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
    Timestamp::from_second(t.as_second().saturating_add(secs)).unwrap_or(Timestamp::MAX)
}

/// RFC 3339 in UTC with whole seconds, e.g. `2026-11-23T10:00:00Z`.
pub fn rfc3339(t: Timestamp) -> String {
    format!("{:.0}", whole_second(t))
}

pub fn serialize_second<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*t))
}

/// An optional timestamp as `serialize_second` writes it, or `null`.
pub fn serialize_optional_second<S: Serializer>(
    t: &Option<Timestamp>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => serialize_second(t, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new("2026-11-23T10:00:00.75Z".parse().unwrap());
        assert_eq!(rfc3339(clock.now()), "2026-11-23T10:00:00Z");
        clock.advance(Duration::from_secs(3600));
        assert_eq!(rfc3339(clock.now()), "2026-11-23T11:00:00Z");
    }
}
