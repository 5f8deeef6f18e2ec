//! Lightsail's firewall and tag semantics, as plain synchronous state.
//!
//! One implementation of the service's rules, shared by every front (the in-memory
//! [`super::Sim`] and, later, the simulator served over HTTP):
//!
//! * Open merges its sources into the rule of the same protocol and range, or adds a
//!   rule; an Open with no source at all opens to anywhere (as the CLI shows), so a
//!   caller that forgets its sources is caught loudly in tests. Lightsail does not
//!   document whether Open *adds* the sources to an existing rule or *replaces* them,
//!   so [`OpenMode::Replace`] plays the other reading: the function must be correct
//!   under both.
//! * Put replaces the whole firewall; an empty Put closes every port.
//! * Tags: keys unique, TagResource adds or overwrites, UntagResource removes by key;
//!   each tag and the resulting count checked against [`super::tag_rules`], the
//!   simulator's own statement of Lightsail's rules (not the ledger's).
//! * Every request is validated here, as the real service does (the SDK checks nothing).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

use super::tag_rules::{check_count, check_tag};
use crate::firewall::{LIGHTSAIL_CONNECT, PortRule, Protocol};
use crate::ledger::Tag;
use crate::lightsail::{ErrorKind, Instance, Page};

/// Most sources of one family in one rule (the documented API limit).
pub const MAX_SOURCES_PER_FAMILY: usize = 60;

/// A failed call as the service would answer it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
}

fn invalid(message: impl Into<String>) -> ModelError {
    ModelError {
        kind: ErrorKind::InvalidInput,
        code: "InvalidInputException",
        message: message.into(),
    }
}

fn not_found(name: &str) -> ModelError {
    ModelError {
        kind: ErrorKind::NotFound,
        code: "NotFoundException",
        message: format!("The Instance does not exist: {name}"),
    }
}

/// What `OpenInstancePublicPorts` does to an existing rule of the same protocol and
/// range: add its sources (what public scripts suggest) or replace them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OpenMode {
    #[default]
    Merge,
    Replace,
}

#[derive(Clone, Debug, Default)]
pub struct Model {
    instances: BTreeMap<String, Instance>,
    pub page_size: usize,
    pub open_mode: OpenMode,
}

impl Model {
    pub fn new(instances: impl IntoIterator<Item = Instance>) -> Self {
        Model {
            instances: instances.into_iter().map(|i| (i.name.clone(), i)).collect(),
            page_size: 25,
            open_mode: OpenMode::Merge,
        }
    }

    pub fn insert(&mut self, instance: Instance) {
        self.instances.insert(instance.name.clone(), instance);
    }

    pub fn instance(&self, name: &str) -> Option<&Instance> {
        self.instances.get(name)
    }

    pub fn instances(&self) -> impl Iterator<Item = &Instance> {
        self.instances.values()
    }

    fn existing(&mut self, name: &str) -> Result<&mut Instance, ModelError> {
        self.instances.get_mut(name).ok_or_else(|| not_found(name))
    }

    pub fn get_instance(&self, name: &str) -> Result<Instance, ModelError> {
        self.instances
            .get(name)
            .cloned()
            .ok_or_else(|| not_found(name))
    }

    /// Pages in name order; the token is the name to start after.
    pub fn get_instances(&self, page_token: Option<&str>) -> Result<Page, ModelError> {
        let size = self.page_size.max(1);
        let rest: Vec<&Instance> = match page_token {
            None => self.instances.values().collect(),
            Some(token) => {
                if token.is_empty() {
                    return Err(invalid("pageToken is invalid"));
                }
                self.instances
                    .range::<str, _>((std::ops::Bound::Excluded(token), std::ops::Bound::Unbounded))
                    .map(|(_, i)| i)
                    .collect()
            }
        };
        let instances: Vec<Instance> = rest.iter().take(size).map(|i| (*i).clone()).collect();
        let next_page_token = (rest.len() > size).then(|| instances[size - 1].name.clone());
        Ok(Page {
            instances,
            next_page_token,
        })
    }

    pub fn open(&mut self, name: &str, rule: &PortRule) -> Result<(), ModelError> {
        let rule = validated(rule)?;
        let mode = self.open_mode;
        let instance = self.existing(name)?;
        match mode {
            OpenMode::Merge => merge_into(&mut instance.ports, rule),
            OpenMode::Replace => replace_into(&mut instance.ports, rule),
        }
        Ok(())
    }

    pub fn put(&mut self, name: &str, rules: &[PortRule]) -> Result<(), ModelError> {
        let mut ports = Vec::new();
        for rule in rules {
            merge_into(&mut ports, validated(rule)?);
        }
        self.existing(name)?.ports = ports;
        Ok(())
    }

    pub fn tag(&mut self, name: &str, tags: &[Tag]) -> Result<(), ModelError> {
        if tags.is_empty() {
            return Err(invalid("tags must not be empty"));
        }
        for tag in tags {
            check_tag(tag).map_err(|broken| invalid(format!("tag {:?}: {broken}", tag.key)))?;
        }
        let instance = self.existing(name)?;
        let mut merged = instance.tags.clone();
        for tag in tags {
            match merged.iter_mut().find(|t| t.key == tag.key) {
                Some(existing) => existing.value = tag.value.clone(),
                None => merged.push(tag.clone()),
            }
        }
        check_count(merged.len()).map_err(|broken| invalid(broken.to_string()))?;
        instance.tags = merged;
        Ok(())
    }

    pub fn untag(&mut self, name: &str, keys: &[String]) -> Result<(), ModelError> {
        if keys.is_empty() {
            return Err(invalid("tagKeys must not be empty"));
        }
        let instance = self.existing(name)?;
        instance.tags.retain(|t| !keys.contains(&t.key));
        Ok(())
    }
}

/// Check a rule as the service does; an Open without sources means anywhere.
fn validated(rule: &PortRule) -> Result<PortRule, ModelError> {
    let (from, to) = (rule.from_port, rule.to_port);
    if rule.protocol == Protocol::Icmp || rule.protocol == Protocol::Icmpv6 {
        if !(-1..=255).contains(&from) || !(-1..=255).contains(&to) {
            return Err(invalid(format!("invalid ICMP type/code {from}/{to}")));
        }
    } else if !(0..=65535).contains(&from) || !(0..=65535).contains(&to) || from > to {
        return Err(invalid(format!("invalid port range {from}-{to}")));
    }
    for cidr in &rule.cidrs {
        if cidr.parse::<Ipv4Net>().is_err() && cidr.parse::<Ipv4Addr>().is_err() {
            return Err(invalid(format!("invalid IPv4 CIDR {cidr:?}")));
        }
    }
    for cidr in &rule.ipv6_cidrs {
        if cidr.parse::<Ipv6Net>().is_err() && cidr.parse::<Ipv6Addr>().is_err() {
            return Err(invalid(format!("invalid IPv6 CIDR {cidr:?}")));
        }
    }
    if let Some(alias) = rule
        .cidr_list_aliases
        .iter()
        .find(|a| *a != LIGHTSAIL_CONNECT)
    {
        return Err(invalid(format!("invalid cidrListAlias {alias:?}")));
    }
    if rule.cidrs.len() > MAX_SOURCES_PER_FAMILY || rule.ipv6_cidrs.len() > MAX_SOURCES_PER_FAMILY {
        return Err(invalid(format!(
            "at most {MAX_SOURCES_PER_FAMILY} sources per address family"
        )));
    }
    let mut rule = rule.clone();
    if !rule.has_source() {
        rule.cidrs = vec!["0.0.0.0/0".into()];
        rule.ipv6_cidrs = vec!["::/0".into()];
    }
    Ok(rule)
}

fn merge_into(ports: &mut Vec<PortRule>, rule: PortRule) {
    let same = |p: &&mut PortRule| {
        p.protocol == rule.protocol && p.from_port == rule.from_port && p.to_port == rule.to_port
    };
    match ports.iter_mut().find(same) {
        Some(existing) => {
            append_new(&mut existing.cidrs, rule.cidrs);
            append_new(&mut existing.ipv6_cidrs, rule.ipv6_cidrs);
            append_new(&mut existing.cidr_list_aliases, rule.cidr_list_aliases);
        }
        None => ports.push(rule),
    }
}

/// The rule of the same protocol and range takes exactly the new sources.
fn replace_into(ports: &mut Vec<PortRule>, rule: PortRule) {
    let same = |p: &&mut PortRule| {
        p.protocol == rule.protocol && p.from_port == rule.from_port && p.to_port == rule.to_port
    };
    match ports.iter_mut().find(same) {
        Some(existing) => *existing = rule,
        None => ports.push(rule),
    }
}

fn append_new(list: &mut Vec<String>, items: Vec<String>) {
    for item in items {
        if !list.contains(&item) {
            list.push(item);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(from: i32, v4: &[&str]) -> PortRule {
        PortRule {
            protocol: Protocol::Tcp,
            from_port: from,
            to_port: from,
            cidrs: v4.iter().map(|s| s.to_string()).collect(),
            ipv6_cidrs: vec![],
            cidr_list_aliases: vec![],
        }
    }

    fn model() -> Model {
        Model::new([Instance {
            name: "web-1".into(),
            ..Instance::default()
        }])
    }

    #[test]
    fn open_merges_and_put_replaces() {
        let mut m = model();
        m.open("web-1", &rule(22, &["1.1.1.1/32"])).unwrap();
        m.open("web-1", &rule(22, &["2.2.2.2/32"])).unwrap();
        m.open("web-1", &rule(80, &["0.0.0.0/0"])).unwrap();
        let ports = m.get_instance("web-1").unwrap().ports;
        assert_eq!(
            ports,
            vec![
                rule(22, &["1.1.1.1/32", "2.2.2.2/32"]),
                rule(80, &["0.0.0.0/0"])
            ]
        );
        m.put("web-1", &[rule(443, &["3.3.3.3"])]).unwrap();
        assert_eq!(
            m.get_instance("web-1").unwrap().ports,
            vec![rule(443, &["3.3.3.3"])]
        );
        m.put("web-1", &[]).unwrap();
        assert!(m.get_instance("web-1").unwrap().ports.is_empty());
    }

    #[test]
    fn in_replace_mode_open_replaces_the_sources_of_the_same_rule_only() {
        let mut m = model();
        m.open_mode = OpenMode::Replace;
        m.open("web-1", &rule(22, &["1.1.1.1/32"])).unwrap();
        m.open("web-1", &rule(80, &["0.0.0.0/0"])).unwrap();
        m.open("web-1", &rule(22, &["2.2.2.2/32"])).unwrap();
        assert_eq!(
            m.get_instance("web-1").unwrap().ports,
            vec![rule(22, &["2.2.2.2/32"]), rule(80, &["0.0.0.0/0"])]
        );
        // Another range of the same protocol is another rule.
        let mut wide = rule(22, &["3.3.3.3/32"]);
        wide.to_port = 23;
        m.open("web-1", &wide).unwrap();
        assert_eq!(m.get_instance("web-1").unwrap().ports.len(), 3);
    }

    #[test]
    fn open_without_sources_means_anywhere() {
        let mut m = model();
        m.open("web-1", &rule(22, &[])).unwrap();
        let ports = m.get_instance("web-1").unwrap().ports;
        assert_eq!(ports[0].cidrs, vec!["0.0.0.0/0"]);
        assert_eq!(ports[0].ipv6_cidrs, vec!["::/0"]);
    }

    #[test]
    fn validation_and_not_found() {
        let mut m = model();
        assert_eq!(
            m.open("web-1", &rule(70000, &["1.1.1.1"]))
                .unwrap_err()
                .kind,
            ErrorKind::InvalidInput
        );
        assert_eq!(
            m.open("web-1", &rule(22, &["nope"])).unwrap_err().kind,
            ErrorKind::InvalidInput
        );
        assert_eq!(
            m.open("db-9", &rule(22, &["1.1.1.1"])).unwrap_err().kind,
            ErrorKind::NotFound
        );
        assert_eq!(
            m.tag("web-1", &[Tag::new("a;b", "x")]).unwrap_err().kind,
            ErrorKind::InvalidInput
        );
        assert_eq!(
            m.tag("web-1", &[Tag::new("aws:x", "x")]).unwrap_err().kind,
            ErrorKind::InvalidInput
        );
        assert_eq!(
            m.tag("web-1", &[Tag::new("k", "v".repeat(257))])
                .unwrap_err()
                .kind,
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn tag_limit_and_overwrite() {
        let mut m = model();
        let tags: Vec<Tag> = (0..50).map(|i| Tag::new(format!("k{i}"), "v")).collect();
        m.tag("web-1", &tags).unwrap();
        m.tag("web-1", &[Tag::new("k0", "new")]).unwrap();
        assert_eq!(
            m.get_instance("web-1").unwrap().tags[0].value.as_deref(),
            Some("new")
        );
        assert_eq!(
            m.tag("web-1", &[Tag::new("k50", "v")]).unwrap_err().kind,
            ErrorKind::InvalidInput
        );
        m.untag("web-1", &["k1".into(), "missing".into()]).unwrap();
        assert_eq!(m.get_instance("web-1").unwrap().tags.len(), 49);
    }

    #[test]
    fn a_refused_tag_request_writes_nothing() {
        let mut m = model();
        let request = [Tag::new("good", "v"), Tag::new("bad", "a,b")];
        let refused = m.tag("web-1", &request).unwrap_err();
        assert_eq!(refused.kind, ErrorKind::InvalidInput);
        assert_eq!(refused.code, "InvalidInputException");
        assert!(refused.message.contains("\"bad\""), "{}", refused.message);
        assert!(m.get_instance("web-1").unwrap().tags.is_empty());
    }

    #[test]
    fn pages_cover_every_instance_once() {
        let mut m = Model::new((0..7).map(|i| Instance {
            name: format!("i-{i}"),
            ..Instance::default()
        }));
        m.page_size = 3;
        let mut token = None;
        let mut seen = Vec::new();
        loop {
            let page = m.get_instances(token.as_deref()).unwrap();
            seen.extend(page.instances.into_iter().map(|i| i.name));
            match page.next_page_token {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        assert_eq!(seen, (0..7).map(|i| format!("i-{i}")).collect::<Vec<_>>());
    }
}
