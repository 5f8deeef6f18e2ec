//! The entry points of docs/DESIGN.md §2 through the real handler: every sample in events/
//! (under the default policy, which requires `issuedAt`, each sent at the world's clock),
//! SQS batches (per-instance concurrency, order within an instance, only transient
//! failures reported), error classification, and cold start (the audit line: tests/audit.rs).

mod common;

use common::*;
use lightsail_jit::clock::ManualClock;
use lightsail_jit::lightsail::ErrorKind;
use lightsail_jit::lightsail::sim::{Call, Op, Sim, Timing};
use lightsail_jit::local::restamp;
use lightsail_jit::policy::Policy;
use lightsail_jit::service::App;
use serde_json::{Value, json};

fn sample(name: &str) -> Value {
    let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The sample as sent now on the world's clock: its `issuedAt`, `time` and
/// `SentTimestamp` restamped, as `jit-local` sends it.
fn sent(w: &World, name: &str) -> Value {
    restamp(&sample(name), now_of(w))
}

fn sample_world() -> World {
    let fixture = std::fs::read_to_string(format!(
        "{}/events/instances.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    App::new(
        Sim::from_fixture_json(&fixture).unwrap(),
        Policy::default(),
        ManualClock::new(START.parse().unwrap()),
    )
}

#[tokio::test]
async fn every_sample_event_does_what_its_name_says() {
    let w = sample_world();
    let baseline_web = w.lightsail.firewall("web-1");
    let baseline_db = w.lightsail.firewall("db-1");

    let out = ok(&w, sent(&w, "grant-dry-run.json")).await;
    assert_eq!(out["status"], "plan");
    assert_eq!(
        out["instances"][0]["open"][0]["cidrs"],
        json!(["192.0.2.10/32"])
    );
    assert_no_write(&w.lightsail, "grant-dry-run.json");

    let out = ok(&w, sent(&w, "grant-eventbridge.json")).await;
    assert_eq!(out["status"], "granted");
    assert_eq!(out["requestId"], "chg-1001");
    assert_eq!(out["expiresAt"], "2026-11-23T11:00:00Z");

    let out = ok(&w, sent(&w, "extend.json")).await;
    assert_eq!(out["status"], "extended");
    assert_eq!(out["expiresAt"], "2026-11-23T12:00:00Z");

    let out = ok(&w, sent(&w, "status.json")).await;
    assert_eq!(out["status"], "status");
    let web = out["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["instanceName"] == "web-1")
        .unwrap();
    assert_eq!(web["grants"][0]["requestId"], "chg-1001");
    assert_eq!(web["grants"][0]["expiresAt"], "2026-11-23T12:00:00Z");
    assert_eq!(web["baselineOrigin"], "captured");
    assert_eq!(
        out["instances"].as_array().unwrap().len(),
        2,
        "legacy-1 is not managed"
    );

    let out = ok(&w, sent(&w, "sqs-batch.json")).await;
    assert_eq!(out, json!({"batchItemFailures": []}));
    assert_eq!(
        grant_keys(&w, "db-1"),
        vec!["jit:grant:2e1424d4-f796-459a-8184-9c92662be6da"],
        "the messageId is the requestId"
    );
    assert_eq!(grant_keys(&w, "web-1").len(), 2);

    let out = ok(&w, sent(&w, "revoke.json")).await;
    assert_eq!(out["status"], "revoked");
    assert_eq!(out["revoked"], json!(["chg-1001"]));

    advance(&w, 3 * 3600);
    let out = ok(&w, sent(&w, "sweep-scheduled.json")).await;
    assert_eq!(out["status"], "swept");
    assert_eq!(out["expired"], 2);
    assert_eq!(w.lightsail.firewall("web-1"), baseline_web);
    assert_eq!(w.lightsail.firewall("db-1"), baseline_db);

    ok(&w, sent(&w, "grant-eventbridge.json")).await;
    let out = ok(&w, sent(&w, "lockdown.json")).await;
    assert_eq!(out["status"], "lockedDown");
    assert_eq!(out["ended"], 1);
    assert_eq!(out["until"], "2026-11-23T22:00:00Z", "9h after 13:00");
    assert_eq!(w.lightsail.firewall("web-1"), baseline_web);
    let out = ok(&w, sent(&w, "grant-eventbridge.json")).await;
    assert_eq!(
        out["error"]["code"], "LockedDown",
        "the lockdown holds: {out}"
    );

    let out = ok(&w, sent(&w, "unlock.json")).await;
    assert_eq!(out["status"], "unlocked");
    assert_eq!(out["instances"], 2);
    let out = ok(&w, sent(&w, "grant-eventbridge.json")).await;
    assert_eq!(
        out["error"]["code"], "GrantExpired",
        "after the unlock, the grant the lockdown ended is not revived by its redelivery: {out}"
    );
}

#[tokio::test]
async fn sqs_reports_only_transient_failures() {
    let w = world();
    w.lightsail.fail_on(Op::Tag, "db-1", 1, Timing::Before);
    let record = |id: &str, body: Value| sqs_record(id, &body);
    let too_wide = GrantCommand::on("web-1").from("0.0.0.0/0").requester("x");
    let on_db = GrantCommand::on("db-1").from("203.0.113.7").requester("x");
    let batch = json!({"Records": [
        record("good", grant("g1", "203.0.113.7", 3600)),
        record("bad", too_wide.json()),
        record("flaky", on_db.json()),
        {"messageId": "not-json", "body": "{"},
    ]});
    let out = ok(&w, batch.clone()).await;
    assert_eq!(
        out,
        json!({"batchItemFailures": [{"itemIdentifier": "flaky"}]})
    );
    assert_eq!(
        grant_keys(&w, "web-1"),
        vec!["jit:grant:g1"],
        "the good record was processed"
    );
    let retry = json!({"Records": [batch["Records"][2].clone()]});
    assert_eq!(
        ok(&w, retry).await,
        json!({"batchItemFailures": []}),
        "the redelivered record succeeds"
    );
    assert_eq!(grant_keys(&w, "db-1"), vec!["jit:grant:flaky"]);
}

#[tokio::test]
async fn sqs_records_for_different_instances_run_concurrently() {
    let w = world();
    // Hold db-1's first read (db-1's lane is polled first) until web-1's record has
    // finished. Sequential processing would never get to web-1: the wait times out.
    let gate = w.lightsail.pause_before_on(Op::GetInstance, "db-1");
    let record = |id: &str, body: Value| sqs_record(id, &body);
    let on_db = GrantCommand::on("db-1")
        .id("gd")
        .from("203.0.113.7")
        .requester("x");
    let batch = json!({"Records": [
        record("w", grant("gw", "203.0.113.7", 3600)),
        record("d", on_db.json()),
    ]});
    let releaser = async {
        reached(&gate).await;
        let web_done = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while grant_keys(&w, "web-1").is_empty() {
                tokio::task::yield_now().await;
            }
        })
        .await
        .is_ok();
        gate.release();
        web_done
    };
    let (out, web_done_while_db_waited) = tokio::join!(ok(&w, batch), releaser);
    assert!(
        web_done_while_db_waited,
        "web-1 was granted while db-1 was still waiting"
    );
    assert_eq!(out, json!({"batchItemFailures": []}));
    assert_eq!(grant_keys(&w, "db-1"), vec!["jit:grant:gd"]);
    assert_eq!(grant_keys(&w, "web-1"), vec!["jit:grant:gw"]);
}

#[tokio::test]
async fn sqs_records_for_one_instance_apply_in_order() {
    let w = world();
    let record = |id: &str, body: Value| sqs_record(id, &body);
    let batch = json!({"Records": [
        record("1", grant("a", "203.0.113.7", 3600)),
        record("2", json!({"action": "revoke", "instanceName": "web-1", "requestId": "a"})),
        record("3", grant("b", "198.51.100.9", 3600)),
    ]});
    assert_eq!(ok(&w, batch).await, json!({"batchItemFailures": []}));
    assert_eq!(
        active_grants(&w, "web-1"),
        vec!["b"],
        "a was revoked before b was granted"
    );
}

#[tokio::test]
async fn transient_failures_are_errors_so_lambda_retries() {
    let w = world();
    w.lightsail.fail(Op::GetInstance, 1, Timing::Before);
    let err = invoke(&w, grant("g", "203.0.113.7", 3600))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ServiceException"), "{err}");
    assert_no_write(&w.lightsail, "a grant whose read failed");
    let diagnostic: lambda_runtime::Diagnostic = err.into();
    assert_eq!(diagnostic.error_type, "Transient");
}

#[tokio::test]
async fn lightsail_does_not_exist_code_is_not_found() {
    let w = world();
    w.lightsail.use_does_not_exist_code();
    let out = ok(&w, grant("g", "203.0.113.7", 3600)).await;
    assert_eq!(out["status"], "granted");
    let out = ok(&w, grant_on("ghost-1", "h", "203.0.113.7", 3600)).await;
    assert_eq!(out["error"]["code"], "InstanceNotFound");
}

/// A permanent refusal is the sweep's answer, not an error to retry: the instance is in
/// `failed` with our code, Lightsail's code is in the message, and its expired grant
/// stays in the ledger so the next sweep closes it.
#[tokio::test]
async fn a_sweep_lightsail_refuses_reports_our_code_with_lightsails_in_the_message() {
    let w = world();
    ok(&w, grant("g", "203.0.113.7", 60)).await;
    advance(&w, 61);
    w.lightsail.clear_calls();
    w.lightsail.fail_with(
        Op::Put,
        1,
        Timing::Before,
        ErrorKind::Refused,
        "AccessDeniedException",
    );
    let out = ok(&w, sweep()).await;
    assert_eq!(out["status"], "swept", "{out}");
    let failed = out["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{out}");
    assert_eq!(failed[0]["instanceName"], "web-1");
    assert_eq!(failed[0]["code"], "LightsailRefused");
    let message = failed[0]["message"].as_str().unwrap();
    assert!(
        message.contains("AccessDeniedException") && message.contains("PutInstancePublicPorts"),
        "Lightsail's code and the refused operation: {message}"
    );
    assert_eq!(
        writes_seen(&w.lightsail),
        vec![Call {
            op: Op::Put,
            instance: Some("web-1".into()),
            ok: false
        }],
        "the refused Put was the only write tried: no untag before a confirmed Put"
    );
    assert_eq!(grant_keys(&w, "web-1"), vec!["jit:grant:g"]);
    let out = ok(&w, sweep()).await;
    assert_eq!(
        out["expired"], 1,
        "Lightsail willing, the next sweep ends it: {out}"
    );
    assert!(out.get("failed").is_none(), "{out}");
    assert_eq!(
        ports(&w, "web-1"),
        web_baseline(),
        "and restores the baseline"
    );
}

/// `jit-local` reads an event file with the strict parser Lambda's entry point uses:
/// a key given twice is `DuplicateField`, and nothing is written.
#[test]
fn jit_local_refuses_a_duplicate_key_as_lambda_does() {
    let event = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("duplicate-cidrs-{}.json", std::process::id()));
    std::fs::write(
        &event,
        r#"{"action":"grant","instanceName":"web-1","cidrs":["0.0.0.0/0"],"cidrs":["203.0.113.7"],"requester":"a"}"#,
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jit-local"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["--fixture", "events/instances.json"])
        .arg(&event)
        .env_remove("JIT_POLICY")
        .env_remove("JIT_POLICY_FILE")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&event);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "a rejection is an answer: {stdout}\n{stderr}"
    );
    assert!(stdout.contains(r#""code":"DuplicateField""#), "{stdout}");
    assert!(
        stdout.contains("(no firewall or tag changed)"),
        "the fixture's firewall is as it was: {stdout}"
    );
}

#[tokio::test]
async fn sqs_record_without_message_id_fails_the_whole_batch() {
    let w = world();
    let err = invoke(&w, json!({"Records": [{"body": "{}"}]}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("messageId"), "{err}");
}

/// Runs the function binary with `env` and returns its exit status and all its output.
/// With no Runtime API to reach, a valid configuration fails only at the first poll.
fn cold_start(env: &[(&str, &str)]) -> (bool, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_lightsail-jit"));
    command
        .env_remove("JIT_POLICY")
        .env_remove("JIT_POLICY_FILE")
        .env_remove("JIT_TLS_ROOTS")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .env("AWS_LAMBDA_FUNCTION_NAME", "lightsail-jit")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/lightsail-jit")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test");
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), all)
}

#[test]
fn an_invalid_policy_stops_the_cold_start_naming_the_field() {
    let (succeeded, all) = cold_start(&[("JIT_POLICY", r#"{"maxDuraton": "2h"}"#)]);
    assert!(!succeeded);
    assert!(all.contains("cold start aborted"), "{all}");
    assert!(all.contains("maxDuraton"), "{all}");
}

#[test]
fn regions_are_checked_at_cold_start() {
    let (succeeded, all) =
        cold_start(&[("JIT_POLICY", r#"{"regions": ["us-east-1", "eu-west-9"]}"#)]);
    assert!(!succeeded);
    assert!(all.contains("cold start aborted"), "{all}");
    assert!(
        all.contains(r#"regions[1]: \"eu-west-9\" is not a Lightsail Region"#),
        "{all}"
    );

    let (succeeded, all) = cold_start(&[("AWS_REGION", "me-south-1")]);
    assert!(!succeeded);
    assert!(all.contains("cold start aborted"), "{all}");
    assert!(
        all.contains("AWS_REGION me-south-1 is not a Lightsail Region"),
        "{all}"
    );

    let (_, many) = cold_start(&[(
        "JIT_POLICY",
        r#"{"regions": ["us-east-1", "eu-west-1", "ap-northeast-1"]}"#,
    )]);
    assert!(!many.contains("cold start aborted"), "{many}");
    assert!(many.contains("Connection refused"), "{many}");
}

#[test]
fn an_unknown_trust_store_stops_the_cold_start_naming_the_variable() {
    let (succeeded, all) = cold_start(&[("JIT_TLS_ROOTS", "mozilla")]);
    assert!(!succeeded);
    assert!(all.contains("cold start aborted"), "{all}");
    assert!(
        all.contains(r#"JIT_TLS_ROOTS must be "amazon" or "system", not "mozilla""#),
        "{all}"
    );
}

#[test]
fn system_roots_are_a_logged_choice_and_a_valid_configuration_gets_to_the_first_poll() {
    let (_, default) = cold_start(&[]);
    assert!(!default.contains("cold start aborted"), "{default}");
    assert!(!default.contains("root store"), "{default}");
    // The only failure left is reaching the (absent) Runtime API.
    assert!(default.contains("Connection refused"), "{default}");

    let (_, system) = cold_start(&[("JIT_TLS_ROOTS", "system")]);
    assert!(!system.contains("cold start aborted"), "{system}");
    assert!(
        system.contains("trusting the platform's root store"),
        "{system}"
    );
}
