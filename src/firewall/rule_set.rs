//! The canonical firewall: one entry per port range with its sorted, normalised sources,
//! so two firewalls written differently compare equal, and the diff between two.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{PortRange, PortRule, Sources, canonical_source};

/// A firewall in canonical form: one entry per port range, never an entry without sources.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSet(BTreeMap<PortRange, Sources>);

impl RuleSet {
    pub fn new() -> Self {
        RuleSet::default()
    }

    pub fn from_rules<'a>(rules: impl IntoIterator<Item = &'a PortRule>) -> Self {
        let mut set = RuleSet::new();
        for rule in rules {
            set.add_rule(rule);
        }
        set
    }

    pub fn add_rule(&mut self, rule: &PortRule) {
        let sources = Sources {
            cidrs: rule.cidrs.iter().map(|s| canonical_source(s)).collect(),
            ipv6_cidrs: rule
                .ipv6_cidrs
                .iter()
                .map(|s| canonical_source(s))
                .collect(),
            cidr_list_aliases: rule
                .cidr_list_aliases
                .iter()
                .map(|s| s.trim().to_string())
                .collect(),
        };
        self.add(rule.range(), &sources);
    }

    pub fn add(&mut self, range: PortRange, sources: &Sources) {
        if sources.is_empty() {
            return;
        }
        self.0.entry(range).or_default().extend(sources);
    }

    pub fn union(&mut self, other: &RuleSet) {
        for (range, sources) in &other.0 {
            self.add(*range, sources);
        }
    }

    /// What `self` admits that `other` does not, source by source.
    pub fn minus(&self, other: &RuleSet) -> RuleSet {
        let mut out = RuleSet::new();
        for (range, sources) in &self.0 {
            let rest = match other.0.get(range) {
                Some(theirs) => sources.minus(theirs),
                None => sources.clone(),
            };
            out.add(*range, &rest);
        }
        out
    }

    /// Whether every (range, source) of `other` is present here exactly.
    pub fn contains(&self, other: &RuleSet) -> bool {
        other.minus(self).is_empty()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&PortRange, &Sources)> {
        self.0.iter()
    }

    /// The rules in a stable order, each with its three source lists.
    pub fn to_rules(&self) -> Vec<PortRule> {
        self.0
            .iter()
            .map(|(range, sources)| PortRule::new(*range, sources))
            .collect()
    }

    /// Number of (range, source) pairs.
    pub fn source_count(&self) -> usize {
        self.0.values().map(Sources::len).sum()
    }
}

/// What turns `actual` into `desired`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Diff {
    pub open: Vec<PortRule>,
    pub close: Vec<PortRule>,
}

impl Diff {
    pub fn between(actual: &RuleSet, desired: &RuleSet) -> Diff {
        Diff {
            open: desired.minus(actual).to_rules(),
            close: actual.minus(desired).to_rules(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty() && self.close.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::{Protocol, test_rule as rule};

    #[test]
    fn split_and_reordered_rules_compare_equal() {
        let a = RuleSet::from_rules(&[
            rule(
                Protocol::Tcp,
                22,
                22,
                &["198.51.100.1", "203.0.113.0/24"],
                &[],
            ),
            rule(Protocol::Tcp, 80, 80, &["0.0.0.0/0"], &["::/0"]),
        ]);
        let b = RuleSet::from_rules(&[
            rule(Protocol::Tcp, 80, 80, &[], &["::/0"]),
            rule(Protocol::Tcp, 22, 22, &["203.0.113.9/24"], &[]),
            rule(Protocol::Tcp, 80, 80, &["0.0.0.0/0"], &[]),
            rule(Protocol::Tcp, 22, 22, &["198.51.100.1/32"], &[]),
        ]);
        assert_eq!(a, b);
        assert!(Diff::between(&a, &b).is_empty());
    }

    #[test]
    fn diff_names_each_source_to_open_and_close() {
        let actual =
            RuleSet::from_rules(&[rule(Protocol::Tcp, 22, 22, &["1.1.1.1", "2.2.2.2"], &[])]);
        let desired =
            RuleSet::from_rules(&[rule(Protocol::Tcp, 22, 22, &["2.2.2.2", "3.3.3.3"], &[])]);
        let diff = Diff::between(&actual, &desired);
        assert_eq!(
            diff.open,
            vec![rule(Protocol::Tcp, 22, 22, &["3.3.3.3/32"], &[])]
        );
        assert_eq!(
            diff.close,
            vec![rule(Protocol::Tcp, 22, 22, &["1.1.1.1/32"], &[])]
        );
    }

    #[test]
    fn rules_without_sources_are_dropped() {
        let set = RuleSet::from_rules(&[rule(Protocol::Udp, 53, 53, &[], &[])]);
        assert!(set.is_empty());
        assert!(set.to_rules().is_empty());
    }
}
