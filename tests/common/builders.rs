//! Builders for the two things tests make over and over: a grant command (the JSON a
//! producer sends) and an instance (what the simulator is seeded with). Each names
//! only what a test cares about, so a test says "a grant on db-1 from 203.0.113.7 for
//! bob" instead of a JSON literal patched field by field.

use lightsail_jit::firewall::PortRule;
use lightsail_jit::ledger::{MANAGED_TAG, Tag};
use lightsail_jit::lightsail::Instance;
use serde_json::{Map, Value, json};

/// A `grant` command, built field by field in the order the methods are called.
/// Only `action` and `instanceName` are set to begin with: every other field is
/// absent (so the service's default applies) until a method sets it.
///
/// ```ignore
/// GrantCommand::on("web-1").id("g1").from("203.0.113.7").for_secs(60).requester("alice").json()
/// ```
#[derive(Clone, Debug)]
pub struct GrantCommand(Map<String, Value>);

impl GrantCommand {
    /// A grant on `instance` with nothing else said.
    pub fn on(instance: &str) -> Self {
        let mut fields = Map::new();
        fields.insert("action".into(), json!("grant"));
        fields.insert("instanceName".into(), json!(instance));
        GrantCommand(fields)
    }

    /// The idempotency key (`requestId`).
    pub fn id(self, request_id: &str) -> Self {
        self.set("requestId", json!(request_id))
    }

    /// One more IPv4 source (`cidrs`); call again for several.
    pub fn from(self, cidr: &str) -> Self {
        self.push("cidrs", cidr)
    }

    /// One more IPv6 source (`ipv6Cidrs`).
    pub fn ipv6_from(self, cidr: &str) -> Self {
        self.push("ipv6Cidrs", cidr)
    }

    /// The ports asked for, as written in a command (`"22"`, `"8080/tcp"`, …).
    pub fn ports(self, ports: &[&str]) -> Self {
        self.set("ports", json!(ports))
    }

    /// The duration as whole seconds (a JSON number).
    pub fn for_secs(self, secs: u64) -> Self {
        self.set("duration", json!(secs))
    }

    /// The duration as text (`"1h"`, `"PT30M"`, …).
    pub fn lasting(self, duration: &str) -> Self {
        self.set("duration", json!(duration))
    }

    pub fn requester(self, who: &str) -> Self {
        self.set("requester", json!(who))
    }

    pub fn reason(self, why: &str) -> Self {
        self.set("reason", json!(why))
    }

    /// `dryRun: true`: plan, write nothing.
    pub fn dry_run(self) -> Self {
        self.set("dryRun", json!(true))
    }

    /// Any field, with any value (for the rejection tests' wrong values and typos).
    pub fn set(mut self, field: &str, value: Value) -> Self {
        self.0.insert(field.into(), value);
        self
    }

    /// Apply `changes` (a JSON object): each field is set to its value, or removed
    /// when the value is `null`.
    pub fn changed(mut self, changes: &Value) -> Self {
        for (field, value) in changes.as_object().expect("changes are a JSON object") {
            if value.is_null() {
                self.0.remove(field);
            } else {
                self.0.insert(field.clone(), value.clone());
            }
        }
        self
    }

    /// The command as the handler receives it.
    pub fn json(self) -> Value {
        Value::Object(self.0)
    }

    fn push(mut self, field: &str, item: &str) -> Self {
        let list = self.0.entry(field).or_insert_with(|| json!([]));
        list.as_array_mut().expect("a list field").push(json!(item));
        self
    }
}

/// A Lightsail instance to seed the simulator with: its name, tags and firewall.
///
/// ```ignore
/// InstanceBuilder::managed("web-1").ports(web_baseline()).tag("owner", "web-team").build()
/// ```
#[derive(Clone, Debug)]
pub struct InstanceBuilder(Instance);

impl InstanceBuilder {
    /// An instance that opted in: its first tag is `jit:managed` (a key without a value).
    pub fn managed(name: &str) -> Self {
        InstanceBuilder::unmanaged(name).key_only_tag(MANAGED_TAG)
    }

    /// An instance without the opt-in tag, no other tag and a closed firewall.
    pub fn unmanaged(name: &str) -> Self {
        InstanceBuilder(Instance {
            name: name.into(),
            ..Instance::default()
        })
    }

    /// Its whole firewall.
    pub fn ports(mut self, ports: Vec<PortRule>) -> Self {
        self.0.ports = ports;
        self
    }

    /// One more firewall rule.
    pub fn port(mut self, rule: PortRule) -> Self {
        self.0.ports.push(rule);
        self
    }

    /// One more tag, `key=value`.
    pub fn tag(mut self, key: &str, value: &str) -> Self {
        self.0.tags.push(Tag::new(key, value));
        self
    }

    /// One more tag that has a key and no value.
    pub fn key_only_tag(mut self, key: &str) -> Self {
        self.0.tags.push(Tag {
            key: key.into(),
            value: None,
        });
        self
    }

    /// More tags, as they are.
    pub fn tags(mut self, tags: impl IntoIterator<Item = Tag>) -> Self {
        self.0.tags.extend(tags);
        self
    }

    pub fn build(self) -> Instance {
        self.0
    }
}
