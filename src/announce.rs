//! What each decision announces: the EventBridge event a chat bot receives (issue #12).
//!
//! Every [`Decision`] is an audit line and, when a bus is configured, one event: the same
//! value makes both, so no decision can be logged and not announced. This module only
//! turns a decision into an [`Announcement`] (pure; `events` publishes it):
//!
//! * the `DetailType`, one per kind of news ([`DetailType`]; a tag removed after its
//!   grant ended is housekeeping, not news, and announces nothing);
//! * the `Detail`: the same fields for every type (`eventId`, `summary`, `requestId`,
//!   `region`, `instanceName`, `requester`, `rules`, `sources`, `expiresAt`, `reason`,
//!   `replyTo`), plus a few per type (see [`detail`]);
//! * an `eventId` that a redelivery of the same command computes again, so consumers
//!   can drop duplicates (EventBridge, SQS and our own retries are all at least once).
//!
//! **Why the event id is a digest.** What makes two events "the same news" is a handful
//! of values (the detail type, the instance and its Region, the grant, and for some types the delivery
//! or the expiry), none of which is unique alone. Their SHA-256 (each part length-prefixed,
//! so no two lists of parts collide) cut to 128 bits is fixed-length, needs no escaping
//! and cannot be confused with any one of its inputs.
//!
//! **Why a `summary`.** EventBridge input transformers can only paste fields into a
//! template; they cannot branch on a detail type or leave out a null. One sentence per
//! event, written here, is what the Slack and Amazon Q Developer routes in the template
//! show. User text in it has Slack's control characters (`& < >`) escaped, so a reason
//! such as `<!channel>` cannot notify a whole channel.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use std::time::Duration;

use jiff::Timestamp;

use crate::audit::{Decision, Verdict};
use crate::clock::rfc3339;
use crate::ledger::Grant;

/// The `Source` of every event the function publishes. The command rule excludes it, so
/// our own news can never be taken for a command.
pub const SOURCE: &str = "lightsail-jit";

/// The `DetailType` of an event: its wire name is written once, here.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::Display, strum::VariantArray,
)]
pub enum DetailType {
    #[strum(serialize = "JIT Access Granted")]
    Granted,
    #[strum(serialize = "JIT Access Rejected")]
    Rejected,
    #[strum(serialize = "JIT Access Revoked")]
    Revoked,
    #[strum(serialize = "JIT Access Extended")]
    Extended,
    #[strum(serialize = "JIT Access Expiring")]
    Expiring,
    #[strum(serialize = "JIT Access Expired")]
    Expired,
    #[strum(serialize = "JIT Lockdown Started")]
    LockdownStarted,
    #[strum(serialize = "JIT Lockdown Ended")]
    LockdownEnded,
}

impl DetailType {
    pub const ALL: &'static [DetailType] = <DetailType as strum::VariantArray>::VARIANTS;

    /// The news a verdict is: a grant ended by a lockdown is revoked (early, by the
    /// lockdown), a break-glass grant is granted; removing an ended grant's tag is none.
    pub fn of(verdict: Verdict) -> Option<DetailType> {
        Some(match verdict {
            Verdict::Granted | Verdict::BreakGlass => DetailType::Granted,
            Verdict::Rejected => DetailType::Rejected,
            Verdict::Revoked | Verdict::Lockdown => DetailType::Revoked,
            Verdict::Extended => DetailType::Extended,
            Verdict::Expiring => DetailType::Expiring,
            Verdict::Expired => DetailType::Expired,
            Verdict::Locked => DetailType::LockdownStarted,
            Verdict::Unlocked => DetailType::LockdownEnded,
            Verdict::Removed => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One event, ready to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announcement {
    pub detail_type: DetailType,
    pub event_id: String,
    /// For the log line should publishing fail: which decision this was.
    pub request_id: String,
    pub instance: Option<String>,
    /// The `Detail`, as JSON text.
    pub detail: String,
}

/// The event `decision` announces, if it is news. `delivery_id` is the envelope's id
/// (SQS messageId, EventBridge id, Lambda request id): the same on every redelivery.
pub fn announce(decision: &Decision, delivery_id: &str) -> Option<Announcement> {
    let detail_type = DetailType::of(decision.decision)?;
    let event_id = event_id(detail_type, decision, delivery_id);
    let detail = detail(detail_type, decision, &event_id);
    Some(Announcement {
        detail_type,
        request_id: decision.request_id.to_string(),
        instance: decision.instance.map(|i| i.to_string()),
        detail: Value::Object(detail).to_string(),
        event_id,
    })
}

/// Stable across redeliveries: a grant is granted, revoked or expires once, so its id
/// and the instance say which; an extension or a rejection is one per delivery; a
/// warning is one per expiry (an extended grant is warned again about its new end).
pub fn event_id(detail_type: DetailType, decision: &Decision, delivery_id: &str) -> String {
    let expiry = decision
        .expires_at
        .map(|t| t.as_second().to_string())
        .unwrap_or_default();
    let discriminator = match detail_type {
        DetailType::Extended | DetailType::Rejected => delivery_id,
        DetailType::Expiring => &expiry,
        _ => "",
    };
    let mut hash = Sha256::new();
    for part in [
        detail_type.as_str(),
        decision.instance.map(|i| i.region.as_str()).unwrap_or(""),
        decision.instance.map(|i| i.name).unwrap_or(""),
        decision.request_id,
        discriminator,
    ] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    hash.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `Detail` object. Common keys first, in a fixed order; then per type:
/// rejected `error` and `command`; granted `breakGlass` and `cappedBy`; revoked
/// `endedBy` (`revoke` | `lockdown`) and `revokedBy`; lockdown started `until`;
/// lockdown ended `until` and `endedBy` (`unlock` | `expired`).
pub fn detail(detail_type: DetailType, d: &Decision, event_id: &str) -> Map<String, Value> {
    let rules: Vec<String> = d.ports.iter().map(ToString::to_string).collect();
    let sources: Vec<&str> = d.sources.map(|s| s.iter().collect()).unwrap_or_default();
    let expires_at = d.expires_at.map(rfc3339);
    let requester = d.owner.or(d.requester);
    // A rejection's justification is its message; the requester's reason is not known.
    let reason = d.error.is_none().then_some(d.justification).flatten();
    let mut detail = Map::new();
    detail.insert("eventId".into(), json!(event_id));
    detail.insert(
        "summary".into(),
        json!(summary(detail_type, d, &rules, &sources)),
    );
    detail.insert("requestId".into(), json!(d.request_id));
    detail.insert("region".into(), json!(d.instance.map(|i| i.region)));
    detail.insert("instanceName".into(), json!(d.instance.map(|i| i.name)));
    detail.insert("requester".into(), json!(requester));
    detail.insert("rules".into(), json!(rules));
    detail.insert("sources".into(), json!(sources));
    let lockdown = matches!(
        detail_type,
        DetailType::LockdownStarted | DetailType::LockdownEnded
    );
    detail.insert(
        "expiresAt".into(),
        json!(if lockdown { None } else { expires_at.clone() }),
    );
    detail.insert("reason".into(), json!(reason));
    detail.insert("replyTo".into(), json!(d.reply_to));
    match detail_type {
        DetailType::Rejected => {
            detail.insert("error".into(), json!(d.error));
            detail.insert("command".into(), json!(d.command));
        }
        DetailType::Granted => {
            detail.insert("breakGlass".into(), json!(d.break_glass));
            detail.insert("cappedBy".into(), json!(d.capped_by));
        }
        DetailType::Revoked => {
            let ended_by = if revoked_by_lockdown(d) {
                "lockdown"
            } else {
                "revoke"
            };
            detail.insert("endedBy".into(), json!(ended_by));
            detail.insert("revokedBy".into(), json!(d.requester));
        }
        DetailType::LockdownStarted => {
            detail.insert("until".into(), json!(expires_at));
        }
        DetailType::LockdownEnded => {
            detail.insert("until".into(), json!(expires_at));
            detail.insert("endedBy".into(), json!(lockdown_ended_by(d)));
        }
        DetailType::Extended | DetailType::Expiring | DetailType::Expired => {}
    }
    detail
}

fn revoked_by_lockdown(d: &Decision) -> bool {
    d.decision == Verdict::Lockdown
}

fn lockdown_ended_by(d: &Decision) -> &'static str {
    match d.reason {
        Some("expired") => "expired",
        _ => "unlock",
    }
}

/// One sentence for a chat message; `rules` and `sources` as the detail lists them.
fn summary(detail_type: DetailType, d: &Decision, rules: &[String], sources: &[&str]) -> String {
    let instance = d
        .instance
        .map(|i| slack_safe(&i.to_string()))
        .unwrap_or_else(|| "*".into());
    let owner = slack_safe(d.owner.or(d.requester).unwrap_or("someone"));
    let rules = rules.join(", ");
    let sources = sources.join(", ");
    let at = d.expires_at.map(rfc3339).unwrap_or_default();
    let because = d
        .justification
        .filter(|_| d.error.is_none())
        .map(|why| format!(" ({})", slack_safe(why)))
        .unwrap_or_default();
    let by = d
        .requester
        .filter(|who| Some(*who) != d.owner)
        .map(|who| format!(" by {}", slack_safe(who)))
        .unwrap_or_default();
    match detail_type {
        DetailType::Granted => {
            let kind = if d.break_glass { " (break-glass)" } else { "" };
            let capped = d
                .capped_by
                .map(|c| format!(", capped by {}", slack_safe(c)))
                .unwrap_or_default();
            format!(
                "{owner} was granted{kind} {rules} from {sources} on {instance} until {at}{capped}{because}"
            )
        }
        DetailType::Rejected => {
            let what = d
                .command
                .map(slack_safe)
                .unwrap_or_else(|| "command".into());
            let on = d
                .instance
                .map(|i| format!(" on {}", slack_safe(&i.to_string())))
                .unwrap_or_default();
            match d.error {
                Some(e) => format!(
                    "{what}{on} rejected: {}: {}",
                    e.code.as_str(),
                    slack_safe(&e.message)
                ),
                None => format!("{what}{on} rejected"),
            }
        }
        DetailType::Revoked if revoked_by_lockdown(d) => {
            format!("{owner}'s access to {rules} on {instance} was ended by a lockdown{because}")
        }
        DetailType::Revoked => {
            format!("{owner}'s access to {rules} on {instance} was revoked{by}{because}")
        }
        DetailType::Extended => {
            format!(
                "{owner}'s access to {rules} on {instance} was extended until {at}{by}{because}"
            )
        }
        DetailType::Expiring => {
            format!("{owner}'s access to {rules} on {instance} expires at {at}")
        }
        DetailType::Expired => {
            format!("{owner}'s access to {rules} on {instance} expired at {at} and is closed")
        }
        DetailType::LockdownStarted => {
            let until = match d.expires_at {
                Some(_) => format!("until {at}"),
                None => "until unlocked".into(),
            };
            let who = d
                .requester
                .map(|w| format!(" by {}", slack_safe(w)))
                .unwrap_or_default();
            format!("{instance} is locked down {until}{who}{because}")
        }
        DetailType::LockdownEnded if lockdown_ended_by(d) == "expired" => {
            format!("the lockdown of {instance} ended at {at}")
        }
        DetailType::LockdownEnded => {
            let who = d
                .requester
                .map(|w| format!(" by {}", slack_safe(w)))
                .unwrap_or_default();
            format!("{instance} was unlocked{who}{because}")
        }
    }
}

/// The cadence the template's sweep runs at (`SweepSchedule`, `rate(1 minute)`).
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Whether the sweep at `now` warns that `grant` expires: once per grant, without
/// writing anything down, because exactly one sweep a minute falls in the minute that
/// holds `expiresAt − warnBefore` (the warning instant). Sweeps are counted by the
/// wall-clock minute, not by "the last 60 seconds", so a sweep a second late and the
/// next one a second early still split the minutes between them. A grant shorter than
/// `warnBefore` is not warned about (its granted event said when it ends), nor one that
/// has ended; a second sweep in the same minute warns again, with the same event id.
pub fn warn_now(grant: &Grant, now: Timestamp, warn_before: Duration) -> bool {
    if warn_before.is_zero() || !grant.is_active(now) {
        return false;
    }
    let Ok(warn_before) = i64::try_from(warn_before.as_secs()) else {
        return false;
    };
    let instant = grant.expires_at.as_second() - warn_before;
    let minute = |second: i64| second.div_euclid(SWEEP_EVERY.as_secs() as i64);
    instant >= grant.granted_at.as_second() && minute(instant) == minute(now.as_second())
}

/// Slack's three control characters escaped as its docs ask (`&amp;` `&lt;` `&gt;`).
pub fn slack_safe(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
