//! What Slack shows: a command's outcome as the slash command's HTTP answer.
//!
//! Slack posts whatever the request's response body says, within its 3 seconds: an
//! `ephemeral` message (only the person who typed it sees it) or an `in_channel` one
//! (everyone in the channel does). Grants, revokes and extensions are in-channel — the
//! team should see who opened what, from where, until when — while help, refusals and
//! `status` are for the one who asked. Text is Slack `mrkdwn`, with `&`, `<` and `>`
//! escaped as Slack's docs ask, so nothing a user typed can become a mention or a link.
//!
//! Times are given in UTC and relative to now ("in 1h"), since Slack users sit in every
//! time zone and the function knows none of theirs.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::announce::slack_safe;
use crate::command::human_duration;
use crate::firewall::PortRule;
use crate::outcome::Outcome;

/// Only the person who typed the command sees it.
pub fn ephemeral(text: &str) -> Value {
    json!({"response_type": "ephemeral", "text": text})
}

/// Everyone in the channel sees it.
pub fn in_channel(text: &str) -> Value {
    json!({"response_type": "in_channel", "text": text})
}

/// The Function URL's answer: the status, JSON, and the body as text.
pub fn http(status: u16, body: &Value) -> Value {
    json!({
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": body.to_string(),
    })
}

/// A refusal at the HTTP level (bad signature, malformed request): plain text, which
/// Slack shows only to the sender (and nobody else ever receives).
pub fn http_refusal(status: u16, reason: &str) -> Value {
    json!({
        "statusCode": status,
        "headers": {"content-type": "text/plain; charset=utf-8"},
        "body": reason,
    })
}

/// `2026-11-23 11:00 UTC (in 1h)`.
pub fn when(at: Timestamp, now: Timestamp) -> String {
    let format = match at.as_second() % 60 {
        0 => "%Y-%m-%d %H:%M UTC",
        _ => "%Y-%m-%d %H:%M:%S UTC",
    };
    let utc = at.strftime(format).to_string();
    let secs = at.as_second() - now.as_second();
    let relative = match secs {
        s if s > 0 => format!(
            "in {}",
            human_duration(std::time::Duration::from_secs(s as u64))
        ),
        0 => "now".to_string(),
        s => format!(
            "{} ago",
            human_duration(std::time::Duration::from_secs(s.unsigned_abs()))
        ),
    };
    format!("{utc} ({relative})")
}

fn rules_text(rules: &[PortRule]) -> (String, String) {
    let ports: Vec<String> = rules.iter().map(|r| r.range().to_string()).collect();
    let mut sources: Vec<String> = Vec::new();
    for rule in rules {
        for s in rule
            .cidrs
            .iter()
            .chain(&rule.ipv6_cidrs)
            .chain(&rule.cidr_list_aliases)
        {
            if !sources.contains(s) {
                sources.push(s.clone());
            }
        }
    }
    (ports.join(", "), sources.join(", "))
}

/// The message for `outcome`, as `who` (a Slack mention, `<@U…>`) asked it at `now`.
pub fn message(outcome: &Outcome, who: &str, now: Timestamp) -> Value {
    match outcome {
        Outcome::Granted {
            region: _,
            instance_name,
            expires_at,
            opened,
            request_id,
            capped_by,
            break_glass,
            duplicate,
        } => {
            let (ports, sources) = rules_text(opened);
            let what = match (ports.is_empty(), duplicate) {
                (true, true) => "access (already open)".to_string(),
                (true, false) => "access".to_string(),
                (false, _) => format!("{} from {}", slack_safe(&ports), slack_safe(&sources)),
            };
            let kind = if *break_glass { " (break-glass)" } else { "" };
            let capped = capped_by
                .as_deref()
                .map(|c| format!(", capped by {}", slack_safe(c)))
                .unwrap_or_default();
            in_channel(&format!(
                ":unlock: {who} was granted{kind} {what} on *{}* until {}{capped}. Request `{}`.",
                slack_safe(instance_name),
                when(*expires_at, now),
                slack_safe(request_id)
            ))
        }
        Outcome::Revoked {
            instance_name,
            revoked,
            ..
        } => {
            let text = match revoked.as_slice() {
                [] => format!(
                    ":lock: {who}: nothing to revoke on *{}*.",
                    slack_safe(instance_name)
                ),
                ids => format!(
                    ":lock: {who} revoked {} on *{}*: closed now.",
                    ids.iter()
                        .map(|id| format!("`{}`", slack_safe(id)))
                        .collect::<Vec<_>>()
                        .join(", "),
                    slack_safe(instance_name)
                ),
            };
            in_channel(&text)
        }
        Outcome::Extended {
            region: _,
            instance_name,
            request_id,
            expires_at,
            capped_by,
        } => {
            let capped = capped_by
                .as_deref()
                .map(|c| format!(", capped by {}", slack_safe(c)))
                .unwrap_or_default();
            in_channel(&format!(
                ":hourglass: {who} extended `{}` on *{}* until {}{capped}.",
                slack_safe(request_id),
                slack_safe(instance_name),
                when(*expires_at, now)
            ))
        }
        Outcome::Rejected { error, .. } => ephemeral(&format!(
            ":no_entry: {}: {}",
            error.code.as_str(),
            slack_safe(&error.message)
        )),
        Outcome::Status { instances } => {
            let mut lines = Vec::new();
            for instance in instances {
                let name = slack_safe(&instance.instance_name);
                let active: Vec<String> = instance
                    .grants
                    .iter()
                    .filter(|g| g.active)
                    .map(|g| {
                        let ports: Vec<String> = g.ports.iter().map(ToString::to_string).collect();
                        let sources: Vec<&str> = g.sources.iter().collect();
                        format!(
                            "  • `{}` {} from {} for {} until {}",
                            slack_safe(&g.request_id),
                            slack_safe(&ports.join(", ")),
                            slack_safe(&sources.join(", ")),
                            slack_safe(&g.requester),
                            when(g.expires_at, now)
                        )
                    })
                    .collect();
                let locked = match &instance.lockdown {
                    Some(l) => match l.until {
                        Some(until) => format!(" — locked down until {}", when(until, now)),
                        None => " — locked down until unlocked".to_string(),
                    },
                    None => String::new(),
                };
                match active.is_empty() {
                    true => lines.push(format!("*{name}*{locked}: no active grant")),
                    false => {
                        lines.push(format!("*{name}*{locked}:"));
                        lines.extend(active);
                    }
                }
            }
            if lines.is_empty() {
                lines.push("No managed instance.".to_string());
            }
            ephemeral(&lines.join("\n"))
        }
        // Not reachable from the grammar (no sweep, lockdown or dry run in Slack), but an
        // answer all the same.
        other => ephemeral(&format!("Done: {}.", other.status())),
    }
}

/// The answer when the command could not finish within Slack's 3 seconds: it goes on
/// through the queue, and its outcome reaches the channel as an event.
pub fn working(who: &str, request_id: &str) -> Value {
    in_channel(&format!(
        ":hourglass_flowing_sand: {who}: working on it (request `{}`); the outcome will be posted here.",
        slack_safe(request_id)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::{PortRange, Protocol, Sources};
    use crate::region::{InstanceRef, Region};
    use crate::rejection::{Code, Rejection};

    fn now() -> Timestamp {
        "2026-11-23T10:00:00Z".parse().unwrap()
    }

    fn ssh_from(cidr: &str) -> PortRule {
        let mut sources = Sources::default();
        sources.cidrs.insert(cidr.into());
        PortRule::new(PortRange::new(Protocol::Tcp, 22, 22), &sources)
    }

    #[test]
    fn times_are_utc_and_relative() {
        let at: Timestamp = "2026-11-23T11:00:00Z".parse().unwrap();
        assert_eq!(when(at, now()), "2026-11-23 11:00 UTC (in 1h)");
        let at: Timestamp = "2026-11-23T10:30:15Z".parse().unwrap();
        assert_eq!(when(at, now()), "2026-11-23 10:30:15 UTC (in 30m 15s)");
        let at: Timestamp = "2026-11-23T09:59:00Z".parse().unwrap();
        assert_eq!(when(at, now()), "2026-11-23 09:59 UTC (1m ago)");
    }

    #[test]
    fn a_grant_is_in_channel_and_says_what_from_where_until_when() {
        let outcome = Outcome::Granted {
            request_id: "slack-abc".into(),
            region: Region::US_EAST_1,
            instance_name: "web-1".into(),
            expires_at: "2026-11-23T11:00:00Z".parse().unwrap(),
            opened: vec![ssh_from("203.0.113.7/32")],
            duplicate: false,
            capped_by: None,
            break_glass: false,
        };
        let m = message(&outcome, "<@U1>", now());
        assert_eq!(m["response_type"], "in_channel");
        assert_eq!(
            m["text"],
            ":unlock: <@U1> was granted 22/tcp from 203.0.113.7/32 on *web-1* until 2026-11-23 11:00 UTC (in 1h). Request `slack-abc`."
        );
    }

    #[test]
    fn a_refusal_is_ephemeral_and_escaped() {
        let outcome = Outcome::rejected(
            "r",
            Some(InstanceRef::new(Region::US_EAST_1, "web-1")),
            Rejection::new(Code::InvalidCidr, "`<!channel>` & co is not a CIDR"),
        );
        let m = message(&outcome, "<@U1>", now());
        assert_eq!(m["response_type"], "ephemeral");
        assert_eq!(
            m["text"],
            ":no_entry: InvalidCidr: `&lt;!channel&gt;` &amp; co is not a CIDR"
        );
    }

    #[test]
    fn a_revoke_lists_what_it_closed() {
        let outcome = Outcome::Revoked {
            request_id: "r".into(),
            region: Region::US_EAST_1,
            instance_name: "web-1".into(),
            revoked: vec!["a".into(), "b".into()],
            api_calls: 3,
        };
        let m = message(&outcome, "<@U1>", now());
        assert_eq!(m["response_type"], "in_channel");
        assert_eq!(
            m["text"],
            ":lock: <@U1> revoked `a`, `b` on *web-1*: closed now."
        );
    }

    #[test]
    fn the_function_url_answer_carries_the_message_as_json_text() {
        let r = http(200, &ephemeral("hi"));
        assert_eq!(r["statusCode"], 200);
        assert_eq!(r["headers"]["content-type"], "application/json");
        let body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
        assert_eq!(body, json!({"response_type": "ephemeral", "text": "hi"}));
    }
}
