//! Every rejection code, produced through the real handler: the outcome is `rejected`
//! with that code, the message names something a person can act on, and Lightsail saw
//! no successful write. A final check makes sure no code in `Code::ALL` lacks a case.

mod common;

use std::collections::BTreeSet;

use common::*;
use lightsail_jit::envelope::Payload;
use lightsail_jit::handler::run;
use lightsail_jit::ledger::Tag;
use lightsail_jit::lightsail::ErrorKind;
use lightsail_jit::lightsail::sim::{Op, Timing};
use lightsail_jit::policy::Policy;
use lightsail_jit::rejection::Code;
use serde_json::{Value, json};

const STRICT: &str = r#"{"requesters": ["alice"], "requireReason": true, "allowedSources": ["203.0.113.0/24", "2001:db8::/32"]}"#;

/// Alice's valid grant on web-1 with `changes` applied (a `null` removes the field).
fn g(changes: Value) -> Value {
    GrantCommand::on("web-1")
        .from("203.0.113.7")
        .requester("alice")
        .reason("r")
        .changed(&changes)
        .json()
}

/// (expected code, what the message must mention, policy, payload)
fn cases() -> Vec<(Code, &'static str, Option<&'static str>, Value)> {
    let long_v6: Vec<String> = (0..20)
        .map(|i| format!("2001:db8:aaaa:{i:x}::/64"))
        .collect();
    vec![
        (
            Code::InvalidEnvelope,
            "detail",
            None,
            json!({"id": "e", "source": "bot", "detail-type": "x"}),
        ),
        (Code::InvalidEnvelope, "JSON object", None, json!(["grant"])),
        (
            Code::MissingField,
            "action",
            None,
            json!({"instanceName": "web-1"}),
        ),
        (
            Code::MissingField,
            "instanceName",
            None,
            g(json!({"instanceName": null})),
        ),
        (
            Code::MissingField,
            "requester",
            None,
            g(json!({"requester": null})),
        ),
        (
            Code::UnknownField,
            "duraton",
            None,
            g(json!({"duraton": "1h"})),
        ),
        (
            Code::InvalidField,
            "cidrs",
            None,
            g(json!({"cidrs": "203.0.113.7"})),
        ),
        (
            Code::InvalidField,
            "dryRun",
            None,
            g(json!({"dryRun": "yes"})),
        ),
        (
            Code::UnknownAction,
            "open",
            None,
            json!({"action": "open", "instanceName": "web-1"}),
        ),
        (
            Code::TooManyItems,
            "ports",
            None,
            g(json!({"ports": vec!["22"; 21]})),
        ),
        (
            Code::InvalidPort,
            "65535",
            None,
            g(json!({"ports": ["70000"]})),
        ),
        (
            Code::InvalidPort,
            "greater",
            None,
            g(json!({"ports": [{"protocol": "tcp", "fromPort": 30, "toPort": 20}]})),
        ),
        (
            Code::InvalidPort,
            "ICMP",
            None,
            g(json!({"ports": [{"protocol": "icmp", "fromPort": 256, "toPort": 0}]})),
        ),
        (
            Code::InvalidCidr,
            "cidrs[0]",
            None,
            g(json!({"cidrs": ["203.0.113.300"]})),
        ),
        (
            Code::InvalidCidr,
            "IPv4-mapped",
            None,
            g(json!({"cidrs": [], "ipv6Cidrs": ["::ffff:203.0.113.7"]})),
        ),
        (
            Code::InvalidAlias,
            "lightsail-connect",
            None,
            g(json!({"cidrListAliases": ["everyone"]})),
        ),
        (
            Code::SourceTooWide,
            "allowAnywhere",
            None,
            g(json!({"cidrs": ["0.0.0.0/0"]})),
        ),
        (
            Code::SourceTooWide,
            "/64",
            None,
            g(json!({"cidrs": [], "ipv6Cidrs": ["2001:db8::/32"]})),
        ),
        (
            Code::SourceNotAllowed,
            "allowedSources",
            Some(STRICT),
            g(json!({"cidrs": ["198.51.100.7"]})),
        ),
        (Code::NoSource, "cidrs", None, g(json!({"cidrs": null}))),
        (
            Code::PortNotAllowed,
            "allowed: 22/tcp",
            None,
            g(json!({"ports": ["3306"]})),
        ),
        (
            Code::InvalidDuration,
            "duration",
            None,
            g(json!({"duration": "PT0S"})),
        ),
        (
            Code::InvalidDuration,
            "duration",
            None,
            g(json!({"duration": "-1h"})),
        ),
        (
            Code::DurationTooLong,
            "12h",
            None,
            g(json!({"duration": "13h"})),
        ),
        (
            Code::InvalidInstanceName,
            "instanceName",
            None,
            g(json!({"instanceName": "web 1; rm"})),
        ),
        (
            Code::InstanceNotManaged,
            "jit:managed",
            None,
            g(json!({"instanceName": "legacy-1"})),
        ),
        (
            Code::InstanceNotFound,
            "ghost-1",
            None,
            g(json!({"instanceName": "ghost-1"})),
        ),
        (
            Code::RegionNotManaged,
            "it manages us-east-1",
            None,
            g(json!({"region": "eu-west-1"})),
        ),
        (
            Code::RegionNotManaged,
            "\"mars-1\" is not a Lightsail Region",
            None,
            g(json!({"region": "mars-1"})),
        ),
        (
            Code::RegionNotManaged,
            "name one of them as the command's `region`",
            Some(r#"{"regions": ["eu-west-1"]}"#),
            g(json!({})),
        ),
        (
            Code::InvalidRequestId,
            "requestId",
            None,
            g(json!({"requestId": "a;b"})),
        ),
        (
            Code::InvalidRequestId,
            "requestId",
            None,
            g(json!({"requestId": "x".repeat(10_000)})),
        ),
        (
            Code::InvalidRequester,
            "requester",
            None,
            g(json!({"requester": "alice<script>"})),
        ),
        (
            Code::InvalidReason,
            "reason",
            None,
            g(json!({"reason": "a\u{7}b"})),
        ),
        (
            Code::InvalidReplyTo,
            "replyTo",
            None,
            g(json!({"replyTo": "C0123456"})),
        ),
        (
            Code::RequesterNotAllowed,
            "bob",
            Some(STRICT),
            g(json!({"requester": "bob"})),
        ),
        (
            Code::ReasonRequired,
            "reason",
            Some(STRICT),
            g(json!({"reason": null})),
        ),
        (
            Code::LedgerFull,
            "50",
            None,
            g(json!({"instanceName": "tagged-1"})),
        ),
        (
            Code::GrantTooLarge,
            "256",
            None,
            g(json!({"cidrs": [], "ipv6Cidrs": long_v6})),
        ),
        (
            Code::UnknownGrant,
            "nope",
            None,
            json!({"action": "revoke", "instanceName": "web-1", "requestId": "nope"}),
        ),
        (
            Code::GrantExpired,
            "expired",
            None,
            json!({"action": "extend", "instanceName": "web-1", "requestId": "done"}),
        ),
        (
            Code::CommandExpired,
            "old by its `issuedAt` (2026-11-23T09:00:00Z), older than the policy's maxCommandAge 15m",
            None,
            g(json!({"issuedAt": "2026-11-23T09:00:00Z"})),
        ),
        (
            Code::InvalidField,
            "issuedAt",
            None,
            g(json!({"issuedAt": "2026-11-23T10:00:00+25:00"})),
        ),
        (
            Code::LockedDown,
            "until 2026-11-23T11:00:00Z",
            Some(r#"{"lockdownWindows": [{"from": "09:00", "to": "11:00"}]}"#),
            g(json!({})),
        ),
        (
            Code::LightsailRefused,
            "AccessDenied",
            None,
            g(json!({"instanceName": "db-1"})),
        ),
    ]
}

/// A world where the cases that need state have it: a full tag set on `tagged-1`, an
/// expired grant `done` on web-1, and the next TagResource denied (only the
/// `LightsailRefused` case gets that far).
async fn prepared(policy: Option<&str>) -> World {
    let w = match policy {
        Some(p) => world_with(Policy::from_json(p).unwrap()),
        None => world(),
    };
    w.lightsail.insert(
        InstanceBuilder::managed("tagged-1")
            .tags((0..48).map(|i| Tag::new(format!("user-{i}"), "v")))
            .build(),
    );
    if policy.is_none() {
        assert_eq!(
            ok(&w, g(json!({"requestId": "done", "duration": 5}))).await["status"],
            "granted"
        );
        advance(&w, 6);
    }
    w.lightsail.fail_with(
        Op::Tag,
        1,
        Timing::Before,
        ErrorKind::Refused,
        "AccessDeniedException",
    );
    w
}

#[tokio::test]
async fn every_rejection_is_typed_actionable_and_writes_nothing() {
    let mut seen = BTreeSet::new();
    for (code, mention, policy, payload) in cases() {
        let w = prepared(policy).await;
        let writes = successful_writes(&w.lightsail);
        let out = ok(&w, payload.clone()).await;
        let label = format!(
            "{code:?} for {}",
            &payload.to_string()[..payload.to_string().len().min(200)]
        );
        assert_eq!(out["status"], "rejected", "{label}: {out}");
        assert_eq!(out["error"]["code"], code.as_str(), "{label}: {out}");
        let message = out["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(mention),
            "{label}: message {message:?} should mention {mention:?}"
        );
        assert!(
            message.len() < 600,
            "{label}: message stays readable ({} bytes)",
            message.len()
        );
        assert_eq!(successful_writes(&w.lightsail), writes, "{label}: no write");
        seen.insert(code.as_str());
    }
    seen.insert(malformed_sqs_body().await);
    seen.insert(duplicate_keys().await);
    let missing: Vec<_> = Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !seen.contains(c))
        .collect();
    assert!(missing.is_empty(), "codes without a test case: {missing:?}");
}

/// `MalformedJson` can only arrive in an SQS body (Lambda itself parses direct payloads).
async fn malformed_sqs_body() -> &'static str {
    let w = world();
    let payload = json!({"Records": [{"messageId": "m1", "body": "{\"action\": \"grant\", "}]});
    let Payload::Batch(records) = Payload::from_value(&payload, "inv").unwrap() else {
        panic!("not a batch")
    };
    let out = run(&w, &records[0].delivery).await.unwrap();
    let value = serde_json::to_value(&out).unwrap();
    assert_eq!(value["error"]["code"], "MalformedJson");
    assert_eq!(
        ok(&w, payload).await,
        json!({"batchItemFailures": []}),
        "a rejected record is not retried"
    );
    assert_no_write(&w.lightsail, "a malformed SQS body");
    "MalformedJson"
}

/// Two equal keys: serde_json would keep the last, another reader the first.
async fn duplicate_keys() -> &'static str {
    let w = world();
    let body = r#"{"action":"grant","instanceName":"web-1","cidrs":["0.0.0.0/0"],"cidrs":["203.0.113.7"],"requester":"a"}"#;
    let payload = json!({"Records": [{"messageId": "m1", "body": body}]});
    let Payload::Batch(records) = Payload::from_value(&payload, "inv").unwrap() else {
        panic!("not a batch")
    };
    let out = serde_json::to_value(run(&w, &records[0].delivery).await.unwrap()).unwrap();
    assert_eq!(out["error"]["code"], "DuplicateField");
    assert!(out["error"]["message"].as_str().unwrap().contains("cidrs"));
    // The Lambda entry point reads the whole payload the same way.
    let direct: lightsail_jit::strict_json::Strict = serde_json::from_str(body).unwrap();
    let event = lambda_runtime::LambdaEvent::new(direct, Default::default());
    let out = lightsail_jit::handler::handle(&w, event).await.unwrap();
    assert_eq!(out["error"]["code"], "DuplicateField");
    assert_no_write(&w.lightsail, "a duplicate key");
    "DuplicateField"
}
