//! The offline runner behind `jit-local`: event files through the very handler Lambda
//! runs, against the simulator seeded from a fixture (or, with `--aws` only, against
//! real Lightsail with the default credential chain). Between files, `--advance 2h`
//! moves the simulated clock, so a whole grant → expiry → sweep story runs in a second.
//! Each event is sent at the story's time: the times in it are rewritten to that clock
//! first ([`restamp`]), as a producer and a transport would have written them.

mod restamp;
#[cfg(feature = "slack")]
mod slack;

pub use restamp::restamp;
#[cfg(feature = "slack")]
pub use slack::{LOCAL_SECRET, local_secret, resign};

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;

use crate::clock::{Clock, ManualClock, rfc3339};
use crate::command::parse_duration_text;
use crate::events::sim::EventsSim;
use crate::firewall::RuleSet;
use crate::handler::handle;
use crate::lightsail::{Instance, Lightsail};
use crate::service::App;
use crate::strict_json::Strict;

pub const USAGE: &str = "\
usage: jit-local [--fixture FILE] [--policy FILE] [--at TIME] [--aws] STEP...
  STEP is an event file (JSON, as Lambda would receive it) or `--advance DURATION`.
  --fixture FILE  instances to seed the simulator with (default: events/instances.json)
  --policy FILE   policy JSON (default: JIT_POLICY / JIT_POLICY_FILE, else the defaults)
  --at TIME       the simulated clock's start, RFC 3339 (default: now)
  --aws           run against real Lightsail with the default AWS credential chain
                  (writes to your account; --advance is refused there)";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Event(PathBuf),
    Advance(Duration),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Args {
    pub fixture: PathBuf,
    pub policy: Option<PathBuf>,
    pub at: Option<Timestamp>,
    pub aws: bool,
    pub steps: Vec<Step>,
}

pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        fixture: PathBuf::from("events/instances.json"),
        policy: None,
        at: None,
        aws: false,
        steps: Vec::new(),
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "--fixture" => parsed.fixture = value("--fixture")?.into(),
            "--policy" => parsed.policy = Some(value("--policy")?.into()),
            "--at" => {
                let text = value("--at")?;
                parsed.at = Some(text.parse().map_err(|e| format!("--at {text:?}: {e}"))?);
            }
            "--aws" => parsed.aws = true,
            "--advance" => {
                let text = value("--advance")?;
                let by = parse_duration_text(&text, "--advance").map_err(|r| r.message)?;
                parsed.steps.push(Step::Advance(by));
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            flag if flag.starts_with("--") => return Err(format!("unknown flag {flag}\n{USAGE}")),
            file => parsed.steps.push(Step::Event(file.into())),
        }
    }
    if parsed.steps.is_empty() {
        return Err(format!("no event files given\n{USAGE}"));
    }
    if parsed.aws && parsed.steps.iter().any(|s| matches!(s, Step::Advance(_))) {
        return Err("--advance moves the simulated clock; real Lightsail runs on real time".into());
    }
    Ok(parsed)
}

/// The runner's clock: simulated (advanced by steps) or the system's.
pub enum RunnerClock {
    Simulated(ManualClock),
    System,
}

impl Clock for RunnerClock {
    fn now(&self) -> Timestamp {
        match self {
            RunnerClock::Simulated(clock) => clock.now(),
            RunnerClock::System => crate::clock::SystemClock.now(),
        }
    }
}

/// What one event did.
#[derive(Debug)]
pub struct StepResult {
    pub file: PathBuf,
    pub outcome: Result<Value, String>,
}

/// Run every step, writing a human report to `out`; returns each event's result.
/// With `bus` (the in-memory bus the app publishes on), each step also lists the events
/// it published: `event: <detail type>: <summary>`.
pub async fn run_steps<L: Lightsail>(
    app: &App<L, RunnerClock>,
    steps: &[Step],
    bus: Option<&EventsSim>,
    out: &Mutex<String>,
) -> Result<Vec<StepResult>, String> {
    let mut results = Vec::new();
    let mut shown = 0;
    for (n, step) in steps.iter().enumerate() {
        match step {
            Step::Advance(by) => {
                if let RunnerClock::Simulated(clock) = &app.clock {
                    clock.advance(*by);
                }
                say(
                    out,
                    format!(
                        "-- clock advanced by {} to {}\n",
                        crate::command::human_duration(*by),
                        rfc3339(app.clock.now())
                    ),
                );
            }
            Step::Event(file) => {
                let text = std::fs::read_to_string(file)
                    .map_err(|e| format!("{}: {e}", file.display()))?;
                // The same strict parse as Lambda's: a duplicate key is `DuplicateField`.
                let mut payload: Strict = serde_json::from_str(&text)
                    .map_err(|e| format!("{} is not JSON: {e}", file.display()))?;
                // Sent now, on the story's clock; a payload naming a key twice is
                // refused as it is.
                if payload.duplicate.is_none() {
                    payload.value = restamp(&payload.value, app.clock.now());
                    #[cfg(feature = "slack")]
                    if let Some(secret) = &app.slack {
                        resign(&mut payload.value, app.clock.now(), secret);
                    }
                }
                let before = firewalls(&app.lightsail).await;
                let mut context = Context::default();
                context.request_id = format!("local-{}", n + 1);
                let outcome = handle(app, LambdaEvent::new(payload, context))
                    .await
                    .map_err(|e| e.to_string());
                let after = firewalls(&app.lightsail).await;
                let mut report =
                    format!("== {} (at {})\n", file.display(), rfc3339(app.clock.now()));
                match &outcome {
                    Ok(value) => {
                        let _ = writeln!(report, "outcome: {value}");
                    }
                    Err(e) => {
                        let _ = writeln!(report, "error (would be retried): {e}");
                    }
                }
                report.push_str(&describe_changes(&before, &after));
                let events = bus.map(EventsSim::events).unwrap_or_default();
                for event in events.iter().skip(shown) {
                    let detail: Value =
                        serde_json::from_str(&event.entry.detail).unwrap_or_default();
                    let summary = detail["summary"].as_str().unwrap_or("");
                    let _ = writeln!(report, "event: {}: {summary}", event.entry.detail_type);
                }
                shown = events.len();
                say(out, report);
                results.push(StepResult {
                    file: file.clone(),
                    outcome,
                });
            }
        }
    }
    Ok(results)
}

fn say(out: &Mutex<String>, text: String) {
    out.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push_str(&text);
}

async fn firewalls(ls: &impl Lightsail) -> Vec<Instance> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let Ok(page) = ls.get_instances(token.as_deref()).await else {
            return all;
        };
        all.extend(page.instances);
        match page.next_page_token {
            Some(next) => token = Some(next),
            None => return all,
        }
    }
}

/// Firewall before/after for each instance whose firewall or tags changed.
pub fn describe_changes(before: &[Instance], after: &[Instance]) -> String {
    let mut text = String::new();
    for new in after {
        let old = before.iter().find(|i| i.name == new.name);
        let old_rules = old
            .map(|i| RuleSet::from_rules(&i.ports))
            .unwrap_or_default();
        let new_rules = RuleSet::from_rules(&new.ports);
        let tags_changed = old.map(|i| &i.tags) != Some(&new.tags);
        if old_rules == new_rules && !tags_changed {
            continue;
        }
        let _ = writeln!(text, "{}:", new.name);
        let _ = writeln!(text, "  firewall before: {}", rules_line(&old_rules));
        let _ = writeln!(text, "  firewall after:  {}", rules_line(&new_rules));
        let jit_tags: Vec<String> = new
            .tags
            .iter()
            .filter(|t| t.key.starts_with("jit:") && t.key != crate::ledger::MANAGED_TAG)
            .map(|t| format!("{}={}", t.key, t.value.as_deref().unwrap_or("")))
            .collect();
        let _ = writeln!(
            text,
            "  ledger tags:     {}",
            if jit_tags.is_empty() {
                "(none)".into()
            } else {
                jit_tags.join(" | ")
            }
        );
    }
    if text.is_empty() {
        text.push_str("(no firewall or tag changed)\n");
    }
    text
}

fn rules_line(rules: &RuleSet) -> String {
    if rules.is_empty() {
        return "(closed)".into();
    }
    rules
        .iter()
        .map(|(range, sources)| {
            format!(
                "{range} from {}",
                sources.iter().collect::<Vec<_>>().join(" ")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args, String> {
        parse_args(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn steps_in_order() {
        let a = args(&["a.json", "--advance", "2h", "b.json", "--fixture", "f.json"]).unwrap();
        assert_eq!(
            a.steps,
            vec![
                Step::Event("a.json".into()),
                Step::Advance(Duration::from_secs(7200)),
                Step::Event("b.json".into())
            ]
        );
        assert_eq!(a.fixture, PathBuf::from("f.json"));
        assert!(!a.aws);
    }

    #[test]
    fn nothing_switches_to_aws_implicitly_and_aws_refuses_time_travel() {
        assert!(
            args(&["a.json", "--aws", "--advance", "1h"])
                .unwrap_err()
                .contains("real time")
        );
        assert!(args(&[]).is_err());
        assert!(
            args(&["--bogus", "a.json"])
                .unwrap_err()
                .contains("unknown flag")
        );
    }
}
