//! After an Open: re-read the rules it touched, and make them hold what the ledger asks.
//!
//! Lightsail does not document what `OpenInstancePublicPorts` does to an existing rule of
//! the same protocol and range: add the new sources (what public scripts suggest) or
//! replace the rule's sources. Under "replace", a grant of SSH from one address would
//! drop the baseline's SSH sources and every other grant's on that port. Nothing here
//! assumes either reading:
//!
//! 1. after its Opens, the command re-reads the instance;
//! 2. for each range it touched, the rule must hold what the ledger asks for that range
//!    (baseline, or the lockdown rules in force, ∪ the active grants: the sweep's own
//!    `desired`, so never a source that no tag explains);
//! 3. a range short of that is opened again with its whole desired source list (under
//!    "add" that adds what is missing, under "replace" it sets exactly that), then
//!    re-read, at most [`ROUNDS`] times.
//!
//! Whoever opens a range last also re-reads it last, after every grant tag that existed
//! before its Open: so when every command has answered, no tracked source is missing.
//!
//! The baseline comes from the ledger. When its tags are gone at the re-read (a racing
//! reconcile removed them, and writes them back), the caller's own baseline — read
//! before its Open — stands in: recovering it from the live firewall would trust the
//! very rule a replacing Open narrowed.
//! The cost is one `GetInstance` per grant (two more calls per repair in "replace").

use std::collections::BTreeSet;

use futures::future::try_join_all;
use jiff::Timestamp;

use super::reconcile::{Ending, plan};
use crate::firewall::{PortRange, PortRule, RuleSet};
use crate::ledger::{BASELINE_KEY, Ledger, encode_baseline};
use crate::lightsail::{Instance, Lightsail, LightsailError};
use crate::policy::Policy;

/// Repairs before leaving the rest to the next sweep (each repair is a contended range).
const ROUNDS: usize = 3;

/// Make the rules of `ranges` on `fresh` (just read) hold what its ledger asks for.
/// Returns how many rules had to be opened again.
pub async fn ensure_open(
    ls: &impl Lightsail,
    policy: &Policy,
    ranges: &BTreeSet<PortRange>,
    mut fresh: Instance,
    baseline: Option<&RuleSet>,
    now: Timestamp,
) -> Result<usize, LightsailError> {
    let mut reopened = 0;
    for round in 0..ROUNDS {
        let short = short_of_desired(policy, &fresh, ranges, baseline, now);
        if short.is_empty() {
            return Ok(reopened);
        }
        tracing::warn!(
            instance = %fresh.name,
            rules = short.len(),
            round,
            "rules short of what the ledger asks after an Open (Open replaced their sources, or a write raced it): opening them whole"
        );
        try_join_all(
            short
                .iter()
                .map(|rule| ls.open_instance_public_ports(&fresh.name, rule)),
        )
        .await?;
        reopened += short.len();
        fresh = ls.get_instance(&fresh.name).await?;
    }
    Ok(reopened)
}

/// The desired rule of each range in `ranges` that the live firewall does not hold whole.
pub fn short_of_desired(
    policy: &Policy,
    fresh: &Instance,
    ranges: &BTreeSet<PortRange>,
    baseline: Option<&RuleSet>,
    now: Timestamp,
) -> Vec<PortRule> {
    let stand_in = baseline
        .filter(|_| Ledger::read(&fresh.tags).baseline.is_none())
        .and_then(|b| encode_baseline(b).ok());
    let actual = RuleSet::from_rules(&fresh.ports);
    let desired = match stand_in {
        Some(tags) => {
            let mut with_baseline = fresh.clone();
            with_baseline
                .tags
                .retain(|t| !t.key.starts_with(BASELINE_KEY));
            with_baseline.tags.extend(tags);
            plan(policy, &with_baseline, Ending::Expired, now).desired(&actual)
        }
        None => plan(policy, fresh, Ending::Expired, now).desired(&actual),
    };
    let mut short = Vec::new();
    for (range, sources) in desired.iter().filter(|(r, _)| ranges.contains(r)) {
        let mut rule = RuleSet::new();
        rule.add(*range, sources);
        if !actual.contains(&rule) {
            short.push(PortRule::new(*range, sources));
        }
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::{Protocol, Sources};
    use crate::ledger::{Grant, encode_grant};

    fn ssh() -> PortRange {
        PortRange::new(Protocol::Tcp, 22, 22)
    }

    fn sources(cidrs: &[&str]) -> Sources {
        let mut s = Sources::default();
        s.cidrs.extend(cidrs.iter().map(|c| c.to_string()));
        s
    }

    fn instance(ports: &[(PortRange, &[&str])], grants: &[(&str, &[&str])]) -> Instance {
        let now = Timestamp::from_second(1_790_000_000).unwrap();
        let mut baseline = RuleSet::new();
        baseline.add(ssh(), &sources(&["198.51.100.0/24"]));
        let mut tags = encode_baseline(&baseline).unwrap();
        tags.push(crate::ledger::Tag::new(crate::ledger::MANAGED_TAG, ""));
        for (id, cidrs) in grants {
            let grant = Grant {
                request_id: id.to_string(),
                granted_at: now,
                expires_at: Timestamp::from_second(1_790_003_600).unwrap(),
                requester: "alice".into(),
                ports: vec![ssh()],
                sources: sources(cidrs),
                break_glass: false,
                ended: None,
            };
            tags.push(encode_grant(&grant).unwrap());
        }
        let mut live = RuleSet::new();
        for (range, cidrs) in ports {
            live.add(*range, &sources(cidrs));
        }
        Instance {
            name: "web-1".into(),
            ports: live.to_rules(),
            tags,
            ..Instance::default()
        }
    }

    fn at() -> Timestamp {
        Timestamp::from_second(1_790_000_100).unwrap()
    }

    #[test]
    fn a_replaced_rule_is_short_of_the_baseline_and_the_other_grants() {
        // Open replaced SSH's sources with the new grant's only.
        let fresh = instance(
            &[(ssh(), &["203.0.113.7/32"])],
            &[("a", &["203.0.113.7/32"]), ("b", &["192.0.2.44/32"])],
        );
        let ranges = BTreeSet::from([ssh()]);
        let short = short_of_desired(&Policy::default(), &fresh, &ranges, None, at());
        let whole = sources(&["198.51.100.0/24", "203.0.113.7/32", "192.0.2.44/32"]);
        assert_eq!(short, vec![PortRule::new(ssh(), &whole)]);
    }

    #[test]
    fn a_merged_rule_needs_nothing_and_untracked_sources_are_never_added() {
        let fresh = instance(
            &[(ssh(), &["198.51.100.0/24", "203.0.113.7/32", "10.9.9.9/32"])],
            &[("a", &["203.0.113.7/32"])],
        );
        let ranges = BTreeSet::from([ssh()]);
        assert!(short_of_desired(&Policy::default(), &fresh, &ranges, None, at()).is_empty());
        // Ranges the command did not touch are the sweep's business.
        let fresh = instance(&[], &[("a", &["203.0.113.7/32"])]);
        let other = BTreeSet::from([PortRange::new(Protocol::Tcp, 80, 80)]);
        assert!(short_of_desired(&Policy::default(), &fresh, &other, None, at()).is_empty());
    }
}
