//! Freshness: a `grant` or `extend` is a request for access *now*, so one that arrives
//! late is refused, with no Lightsail write (docs/DESIGN.md §3, "Freshness"). The one
//! exception is decided elsewhere: a late redelivery of a grant whose tag is already on
//! the instance was decided in time, and `service::grant::stale` finishes it.
//!
//! Late deliveries are ordinary: an SQS dead-letter redrive gives a message a new id and
//! new timestamps, an EventBridge target retries for up to 24 hours, Lambda's async
//! retries for up to 6. Without an age bound a grant that failed on Monday opens a port
//! on Friday.
//!
//! The age is counted from the first of: the command's `issuedAt` (set by the
//! producer), the EventBridge event's `time`, the SQS record's `SentTimestamp`. Only
//! `issuedAt` survives a redrive, which is why the policy requires it by default
//! (`requireIssuedAt`): a redriven raw SQS command gets a fresh `SentTimestamp`, and a
//! direct invocation has no timestamp at all. The other actions only close or read
//! (`revoke`, `lockdown`, `unlock`, `sweep`, `status`), so they stay valid late.
//!
//! Pure: the command, its delivery's stamp, the policy and `now` in, a verdict out.

use std::time::Duration;

use jiff::Timestamp;

use super::Policy;
use crate::clock::rfc3339;
use crate::command::{Action, Command, ISSUED_AT, human_duration};
use crate::envelope::{Attribute, SentAt};
use crate::rejection::{Code, Rejection};

/// The policy keys, written once for their messages.
pub const MAX_COMMAND_AGE: &str = "maxCommandAge";
pub const REQUIRE_ISSUED_AT: &str = "requireIssuedAt";
/// `maxCommandAge` when the policy does not say.
pub const DEFAULT_MAX_COMMAND_AGE: Duration = Duration::from_secs(15 * 60);
/// The longest `maxCommandAge` may be: a command older than a day is no longer a
/// request for access now, and EventBridge stops retrying at 24 hours anyway.
pub const LONGEST_MAX_COMMAND_AGE: Duration = Duration::from_secs(24 * 3600);
/// How far ahead of our clock a time may be: the producer's clock may run a little
/// fast; more than this is a wrong clock or a forged time, not skew.
pub const CLOCK_SKEW: Duration = Duration::from_secs(60);

/// Where a command's age was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    IssuedAt,
    Transport(Attribute),
}

impl Source {
    /// As the subject of a sentence: "`issuedAt` … is in the future".
    fn name(self) -> String {
        match self {
            Source::IssuedAt => format!("`{ISSUED_AT}`"),
            Source::Transport(attribute) => attribute.describe(),
        }
    }

    /// After "old by": "… old by its `issuedAt`".
    fn by(self) -> String {
        match self {
            Source::IssuedAt => format!("its `{ISSUED_AT}`"),
            Source::Transport(attribute) => attribute.describe(),
        }
    }
}

/// Held to an age: the actions that open or keep access open.
fn is_held(action: &Action) -> bool {
    match action {
        Action::Grant(_) | Action::Extend(_) => true,
        Action::Revoke(_)
        | Action::Sweep(_)
        | Action::Lockdown(_)
        | Action::Unlock(_)
        | Action::Status(_) => false,
    }
}

impl Policy {
    /// `Ok` when `command` may run at `now` as far as its age goes; else the rejection
    /// naming the time it was judged by and the limit.
    pub fn check_freshness(
        &self,
        command: &Command,
        sent_at: &SentAt,
        now: Timestamp,
    ) -> Result<(), Rejection> {
        if !is_held(&command.action) {
            return Ok(());
        }
        let action = command.action.name();
        let (source, at) = match (command.issued_at, sent_at) {
            (Some(at), _) => (Source::IssuedAt, at),
            (None, _) if self.require_issued_at => {
                return Err(Rejection::new(
                    Code::MissingField,
                    format!(
                        "`{ISSUED_AT}` is required on `{action}`: the policy's {REQUIRE_ISSUED_AT} is on, because a redelivered command would otherwise look fresh; set it to the time the command is issued"
                    ),
                ));
            }
            // Invoked directly, with no time anywhere: nothing to measure. The policy
            // chose this by turning requireIssuedAt off.
            (None, SentAt::Direct) => return Ok(()),
            (None, SentAt::Stamped { attribute, at }) => (Source::Transport(*attribute), *at),
            (None, SentAt::Unreadable { attribute, why }) => {
                return Err(Rejection::new(
                    Code::InvalidEnvelope,
                    format!(
                        "{} {why}; without `{ISSUED_AT}` it is the age of this `{action}`",
                        attribute.describe()
                    ),
                ));
            }
            (None, SentAt::Missing(looked_for)) => {
                let names: Vec<String> = looked_for.iter().map(|a| a.describe()).collect();
                return Err(Rejection::new(
                    Code::InvalidEnvelope,
                    format!(
                        "this `{action}` has no `{ISSUED_AT}` and the delivery lacks {}: its age cannot be told",
                        names.join(" and ")
                    ),
                ));
            }
        };
        let ahead = at.as_second().saturating_sub(now.as_second());
        if ahead > seconds(CLOCK_SKEW) {
            let message = format!(
                "{} {} is {} in the future; at most {} of clock skew is accepted",
                source.name(),
                rfc3339(at),
                human_duration(Duration::from_secs(ahead.unsigned_abs())),
                human_duration(CLOCK_SKEW)
            );
            return Err(match source {
                Source::IssuedAt => Rejection::new(Code::InvalidField, message),
                Source::Transport(_) => Rejection::new(Code::InvalidEnvelope, message),
            });
        }
        let age = now.as_second().saturating_sub(at.as_second());
        if age > seconds(self.max_command_age) {
            return Err(Rejection::new(
                Code::CommandExpired,
                format!(
                    "this `{action}` is {} old by {} ({}), older than the policy's {MAX_COMMAND_AGE} {}: a late delivery must not open access; send a new command",
                    human_duration(Duration::from_secs(age.unsigned_abs())),
                    source.by(),
                    rfc3339(at),
                    human_duration(self.max_command_age)
                ),
            ));
        }
        Ok(())
    }
}

fn seconds(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const NOW: &str = "2026-11-23T10:00:00Z";

    fn now() -> Timestamp {
        NOW.parse().unwrap()
    }

    /// `now` moved by `secs` (negative: earlier).
    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(now().as_second() + secs).unwrap()
    }

    fn command(v: Value) -> Command {
        Command::from_json(&v).unwrap()
    }

    fn grant(issued_at: Option<Timestamp>) -> Command {
        let mut c = json!({"action": "grant", "instanceName": "web-1", "cidrs": ["203.0.113.7"],
                           "requester": "alice"});
        if let Some(t) = issued_at {
            c["issuedAt"] = json!(rfc3339(t));
        }
        command(c)
    }

    fn lenient() -> Policy {
        Policy::from_json(r#"{"requireIssuedAt": false}"#).unwrap()
    }

    fn stamped(attribute: Attribute, at: Timestamp) -> SentAt {
        SentAt::Stamped { attribute, at }
    }

    fn code(r: Result<(), Rejection>) -> Code {
        r.unwrap_err().code
    }

    #[test]
    fn defaults_are_fifteen_minutes_and_issued_at_required() {
        let p = Policy::default();
        assert_eq!(p.max_command_age, DEFAULT_MAX_COMMAND_AGE);
        assert!(p.require_issued_at);
    }

    #[test]
    fn issued_at_up_to_max_command_age_is_fresh_and_a_second_more_is_expired() {
        let p = Policy::default();
        let check = |secs: i64| p.check_freshness(&grant(Some(at(secs))), &SentAt::Direct, now());
        assert_eq!(check(0), Ok(()));
        assert_eq!(check(-900), Ok(()), "exactly maxCommandAge");
        let e = check(-901).unwrap_err();
        assert_eq!(e.code, Code::CommandExpired);
        assert_eq!(
            e.message,
            "this `grant` is 15m 1s old by its `issuedAt` (2026-11-23T09:44:59Z), older than the policy's maxCommandAge 15m: a late delivery must not open access; send a new command"
        );
    }

    #[test]
    fn up_to_a_minute_ahead_is_skew_and_more_is_a_wrong_time() {
        let p = Policy::default();
        let check = |secs: i64| p.check_freshness(&grant(Some(at(secs))), &SentAt::Direct, now());
        assert_eq!(check(60), Ok(()));
        let e = check(61).unwrap_err();
        assert_eq!(e.code, Code::InvalidField);
        assert_eq!(
            e.message,
            "`issuedAt` 2026-11-23T10:01:01Z is 1m 1s in the future; at most 1m of clock skew is accepted"
        );
        let lenient = lenient();
        for attribute in [Attribute::EventTime, Attribute::SentTimestamp] {
            let check = |secs: i64| {
                lenient.check_freshness(&grant(None), &stamped(attribute, at(secs)), now())
            };
            assert_eq!(check(60), Ok(()));
            let e = check(61).unwrap_err();
            assert_eq!(e.code, Code::InvalidEnvelope, "{attribute:?}");
            assert!(
                e.message.starts_with(&attribute.describe()) && e.message.contains("future"),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn issued_at_wins_over_the_transport() {
        let p = lenient();
        let fresh = grant(Some(at(-60)));
        for sent_at in [
            stamped(Attribute::EventTime, at(-86_400)),
            stamped(Attribute::SentTimestamp, at(3_600)),
            SentAt::Unreadable {
                attribute: Attribute::SentTimestamp,
                why: "\"x\" is not epoch milliseconds".into(),
            },
            SentAt::Missing(&[Attribute::EventTime]),
        ] {
            assert_eq!(
                p.check_freshness(&fresh, &sent_at, now()),
                Ok(()),
                "{sent_at:?}"
            );
        }
        let stale = grant(Some(at(-3_600)));
        let e = p
            .check_freshness(&stale, &stamped(Attribute::SentTimestamp, now()), now())
            .unwrap_err();
        assert_eq!(
            e.code,
            Code::CommandExpired,
            "a fresh SentTimestamp does not help"
        );
        assert!(e.message.contains("`issuedAt`"), "{}", e.message);
    }

    #[test]
    fn by_default_grant_and_extend_need_issued_at_however_they_came() {
        let p = Policy::default();
        let extend =
            command(json!({"action": "extend", "instanceName": "web-1", "requestId": "g1"}));
        for c in [grant(None), extend] {
            for sent_at in [SentAt::Direct, stamped(Attribute::EventTime, now())] {
                let e = p.check_freshness(&c, &sent_at, now()).unwrap_err();
                assert_eq!(e.code, Code::MissingField);
                assert!(
                    e.message.starts_with("`issuedAt` is required on `")
                        && e.message.contains("requireIssuedAt"),
                    "{}",
                    e.message
                );
            }
        }
    }

    #[test]
    fn without_require_issued_at_the_transport_time_counts() {
        let p = lenient();
        let g = grant(None);
        let check = |sent_at: SentAt| p.check_freshness(&g, &sent_at, now());
        assert_eq!(
            check(SentAt::Direct),
            Ok(()),
            "a direct invocation has no age"
        );
        assert_eq!(check(stamped(Attribute::EventTime, at(-900))), Ok(()));
        let e = check(stamped(Attribute::EventTime, at(-901))).unwrap_err();
        assert_eq!(e.code, Code::CommandExpired);
        assert!(
            e.message
                .contains("by the EventBridge event's `time` (2026-11-23T09:44:59Z)"),
            "{}",
            e.message
        );
        let e = check(stamped(Attribute::SentTimestamp, at(-7_200))).unwrap_err();
        assert_eq!(e.code, Code::CommandExpired);
        assert!(
            e.message
                .contains("2h old by the SQS record's `attributes.SentTimestamp`"),
            "{}",
            e.message
        );
        let e = check(SentAt::Missing(&[Attribute::EventTime])).unwrap_err();
        assert_eq!(e.code, Code::InvalidEnvelope);
        assert!(e.message.contains("`time`"), "{}", e.message);
        let e = check(SentAt::Missing(&[Attribute::SentTimestamp])).unwrap_err();
        assert_eq!(e.code, Code::InvalidEnvelope);
        assert!(e.message.contains("SentTimestamp"), "{}", e.message);
        let e = check(SentAt::Missing(&[
            Attribute::EventTime,
            Attribute::SentTimestamp,
        ]))
        .unwrap_err();
        assert!(
            e.message
                .contains("`time` and the SQS record's `attributes.SentTimestamp`"),
            "{}",
            e.message
        );
        let e = check(SentAt::Unreadable {
            attribute: Attribute::SentTimestamp,
            why: "\"-1\" is not epoch milliseconds".into(),
        })
        .unwrap_err();
        assert_eq!(e.code, Code::InvalidEnvelope);
        assert_eq!(
            e.message,
            "the SQS record's `attributes.SentTimestamp` \"-1\" is not epoch milliseconds; without `issuedAt` it is the age of this `grant`"
        );
    }

    #[test]
    fn max_command_age_is_the_policys() {
        let p = Policy::from_json(r#"{"maxCommandAge": "1h"}"#).unwrap();
        let check = |secs: i64| p.check_freshness(&grant(Some(at(secs))), &SentAt::Direct, now());
        assert_eq!(check(-3_600), Ok(()));
        assert_eq!(code(check(-3_601)), Code::CommandExpired);
        assert!(
            check(-3_601)
                .unwrap_err()
                .message
                .contains("maxCommandAge 1h")
        );
    }

    #[test]
    fn extend_is_held_too() {
        let p = Policy::default();
        let stale = command(
            json!({"action": "extend", "instanceName": "web-1", "requestId": "g1",
                                   "issuedAt": rfc3339(at(-901))}),
        );
        let e = p
            .check_freshness(&stale, &SentAt::Direct, now())
            .unwrap_err();
        assert_eq!(e.code, Code::CommandExpired);
        assert!(
            e.message.starts_with("this `extend` is 15m 1s old"),
            "{}",
            e.message
        );
    }

    #[test]
    fn what_only_closes_or_reads_stays_valid_late() {
        let p = Policy::default();
        let long_ago = rfc3339(at(-30 * 86_400));
        let ahead = rfc3339(at(86_400));
        for c in [
            json!({"action": "revoke", "instanceName": "web-1"}),
            json!({"action": "lockdown", "requester": "ops"}),
            json!({"action": "unlock", "requester": "ops"}),
            json!({"action": "sweep"}),
            json!({"action": "status"}),
        ] {
            for issued_at in [Value::Null, json!(long_ago), json!(ahead)] {
                let mut c = c.clone();
                c["issuedAt"] = issued_at;
                for sent_at in [
                    SentAt::Direct,
                    SentAt::Missing(&[Attribute::SentTimestamp]),
                    stamped(Attribute::EventTime, at(-30 * 86_400)),
                ] {
                    assert_eq!(
                        p.check_freshness(&command(c.clone()), &sent_at, now()),
                        Ok(()),
                        "{c} {sent_at:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn absurd_times_are_refused_without_overflow() {
        let p = Policy::default();
        let issued = |t: Timestamp| Command {
            issued_at: Some(t),
            ..grant(None)
        };
        let e = p
            .check_freshness(&issued(Timestamp::MIN), &SentAt::Direct, now())
            .unwrap_err();
        assert_eq!(e.code, Code::CommandExpired);
        let e = p
            .check_freshness(&issued(Timestamp::MAX), &SentAt::Direct, now())
            .unwrap_err();
        assert_eq!(e.code, Code::InvalidField);
        assert!(e.message.len() < 300, "{}", e.message);
    }
}
