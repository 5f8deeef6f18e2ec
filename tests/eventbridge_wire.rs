//! The real aws-sdk-eventbridge client, through our `AwsEventBus`, against the
//! simulator's server on loopback answering `AWSEvents.PutEvents`: the JSON codecs,
//! SigV4 for the `events` service, the SDK's retries, our error classification, and the
//! service-specific endpoint variable.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::config::retry::RetryConfig;
use aws_sdk_eventbridge::config::timeout::TimeoutConfig;
use aws_sdk_eventbridge::config::{BehaviorVersion, Credentials, Region};
use lightsail_jit::events::aws::AwsEventBus;
use lightsail_jit::events::sim::Timing;
use lightsail_jit::events::{EntryResult, EventBus, EventEntry};
use lightsail_jit::lightsail::sim::Sim;
use lightsail_jit::lightsail::sim::http::{FaultKind, SimServer, WireFault};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn server() -> SimServer {
    SimServer::start(
        Sim::new(Vec::new()),
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    )
    .await
    .unwrap()
}

/// The SDK configured as tests/common's `sdk_config` configures Lightsail (test keys,
/// us-east-1, the server's URL), with the standard retry's 3 attempts and fast backoff.
fn bus(url: &str, attempt_timeout: Option<Duration>) -> AwsEventBus {
    let mut config = aws_sdk_eventbridge::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(url)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1)),
        );
    if let Some(timeout) = attempt_timeout {
        config = config.timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(timeout)
                .build(),
        );
    }
    AwsEventBus::new(Client::from_conf(config.build()))
}

fn entry(n: usize) -> EventEntry {
    EventEntry {
        source: "lightsail-jit".into(),
        detail_type: "Access Granted".into(),
        detail: json!({"requestId": format!("chg-{n}"), "instanceName": "web-1", "note": "é ✓"})
            .to_string(),
        event_bus_name: "jit-decisions".into(),
    }
}

fn attempts(s: &SimServer) -> usize {
    s.requests()
        .iter()
        .filter(|r| r.operation == "PutEvents")
        .count()
}

fn published(id: &str) -> EntryResult {
    EntryResult::Published {
        event_id: id.into(),
    }
}

/// A plain HTTP/1.1 exchange with the server; the whole response as text.
async fn raw(s: &SimServer, head: &str, body: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(s.addr()).await.unwrap();
    let request = format!(
        "{head}\r\nhost: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        s.addr(),
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn entries_arrive_as_sent_and_event_ids_come_back_in_order() {
    let s = server().await;
    let aws = bus(&s.url(), None);
    let sent = vec![entry(1), entry(2), entry(3)];
    let results = aws.put_events(&sent).await.unwrap();
    assert_eq!(
        results,
        vec![
            published("sim-event-1"),
            published("sim-event-2"),
            published("sim-event-3")
        ]
    );
    let received: Vec<EventEntry> = s.events().events().into_iter().map(|e| e.entry).collect();
    assert_eq!(received, sent, "byte for byte, non-ASCII detail included");

    // The control plane shows the same, with the ids.
    let response = raw(&s, "GET /_sim/events HTTP/1.1", "").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let body = response.split_once("\r\n\r\n").unwrap().1;
    let listed: Value = serde_json::from_str(body).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 3);
    assert_eq!(listed[1]["eventId"], "sim-event-2");
    assert_eq!(listed[1]["detail"], sent[1].detail.as_str());
    assert_eq!(listed[1]["eventBusName"], "jit-decisions");
    assert_eq!(listed[1]["detailType"], "Access Granted");
}

#[tokio::test]
async fn requests_are_signed_for_the_events_service() {
    let s = server().await;
    bus(&s.url(), None).put_events(&[entry(1)]).await.unwrap();
    let requests = s.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].operation, "PutEvents");
    assert!(requests[0].signed && requests[0].status == 200);
    let scope: Vec<&str> = requests[0].credential.split('/').collect();
    assert_eq!(scope.len(), 5, "{}", requests[0].credential);
    assert_eq!(scope[0], "test");
    assert_eq!(&scope[2..], ["us-east-1", "events", "aws4_request"]);
}

#[tokio::test]
async fn unsigned_or_lightsail_signed_put_events_are_refused() {
    let s = server().await;
    let body = r#"{"Entries":[{"Source":"s","DetailType":"d","Detail":"{}"}]}"#;
    let target = "POST / HTTP/1.1\r\nx-amz-target: AWSEvents.PutEvents\r\ncontent-type: application/x-amz-json-1.1";
    let unsigned = raw(&s, target, body).await;
    assert!(unsigned.starts_with("HTTP/1.1 403"), "{unsigned}");
    let wrong_scope = format!(
        "{target}\r\nauthorization: AWS4-HMAC-SHA256 Credential=test/20261123/us-east-1/lightsail/aws4_request, SignedHeaders=host, Signature=00"
    );
    let refused = raw(&s, &wrong_scope, body).await;
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    assert!(refused.contains("MissingAuthenticationTokenException"));
    assert!(s.events().events().is_empty());
}

#[tokio::test]
async fn a_partial_failure_fails_exactly_those_entries() {
    let s = server().await;
    let aws = bus(&s.url(), None);
    s.events()
        .fail_entries(|e| e.detail.contains("chg-2"), "InternalFailure");
    let mut malformed = entry(4);
    malformed.detail = "[1,2]".into();
    let mut no_source = entry(5);
    no_source.source.clear();
    let results = aws
        .put_events(&[entry(1), entry(2), entry(3), malformed, no_source])
        .await
        .unwrap();
    assert_eq!(results[0], published("sim-event-1"));
    assert_eq!(results[2], published("sim-event-2"));
    let failed: Vec<(usize, &str, bool)> = results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match r {
            EntryResult::Failed { code, .. } => Some((i, code.as_str(), r.is_transient())),
            EntryResult::Published { .. } => None,
        })
        .collect();
    assert_eq!(
        failed,
        vec![
            (1, "InternalFailure", true),
            (3, "MalformedDetail", false),
            (4, "InvalidArgument", false)
        ]
    );
    assert_eq!(s.events().events().len(), 2);
    assert_eq!(
        attempts(&s),
        1,
        "a partial failure is an answer: no SDK retry"
    );
}

#[tokio::test]
async fn throttles_and_5xx_are_retried_by_the_sdk_then_transient() {
    let s = server().await;
    let aws = bus(&s.url(), None);
    s.inject(WireFault::new("PutEvents", FaultKind::Throttle).times(2));
    assert_eq!(
        aws.put_events(&[entry(1)]).await.unwrap(),
        vec![published("sim-event-1")]
    );
    assert_eq!(attempts(&s), 3, "two throttles, then the answer");

    for (kind, code) in [
        (FaultKind::Throttle, "ThrottlingException"),
        (FaultKind::ServerError, "InternalException"),
        (FaultKind::Drop, "DispatchFailure"),
    ] {
        let before = attempts(&s);
        s.inject(WireFault::new("PutEvents", kind.clone()).times(3));
        let err = aws.put_events(&[entry(2)]).await.unwrap_err();
        assert!(err.transient, "{kind:?}: {err}");
        assert_eq!(err.code, code, "{kind:?}");
        assert_eq!(
            attempts(&s) - before,
            3,
            "{kind:?}: the SDK tried three times"
        );
    }
    assert_eq!(s.events().events().len(), 1, "no failed attempt published");
}

#[tokio::test]
async fn a_timeout_is_transient() {
    let s = server().await;
    let aws = bus(&s.url(), Some(Duration::from_millis(150)));
    s.inject(WireFault::new("PutEvents", FaultKind::Latency { millis: 600 }).times(3));
    let err = aws.put_events(&[entry(1)]).await.unwrap_err();
    assert!(err.transient, "{err}");
    assert_eq!(err.code, "Timeout");
    assert_eq!(attempts(&s), 3);
}

#[tokio::test]
async fn an_answer_lost_after_publishing_is_retried_and_publishes_twice() {
    let s = server().await;
    let aws = bus(&s.url(), None);
    s.events().fail_with(1, true, Timing::After);
    let results = aws.put_events(&[entry(1)]).await.unwrap();
    assert_eq!(results, vec![published("sim-event-2")]);
    let ids: Vec<String> = s
        .events()
        .events()
        .into_iter()
        .map(|e| e.event_id)
        .collect();
    assert_eq!(
        ids,
        vec!["sim-event-1", "sim-event-2"],
        "at least once: consumers must dedupe"
    );
    assert_eq!(attempts(&s), 2);
}

#[tokio::test]
async fn eleven_entries_are_a_permanent_validation_exception_not_retried() {
    let s = server().await;
    let aws = bus(&s.url(), None);
    let eleven: Vec<_> = (0..11).map(entry).collect();
    let err = aws.put_events(&eleven).await.unwrap_err();
    assert!(!err.transient, "{err}");
    assert_eq!(err.code, "ValidationException");
    assert_eq!(attempts(&s), 1);
    assert_eq!(s.requests()[0].status, 400);
    assert!(s.events().events().is_empty());

    let mut nameless = entry(1);
    nameless.event_bus_name.clear();
    let err = aws.put_events(&[nameless]).await.unwrap_err();
    assert_eq!(err.code, "ValidationException");
    assert!(!err.transient);
}

#[tokio::test]
async fn a_permanent_whole_call_failure_is_not_retried() {
    let s = server().await;
    let aws = bus(&s.url(), None);
    s.events().fail(1, false);
    let err = aws.put_events(&[entry(1)]).await.unwrap_err();
    assert!(!err.transient, "{err}");
    assert_eq!(err.code, "AccessDeniedException");
    assert_eq!(attempts(&s), 1);
}

/// The environment variable the child process reads to know it is the child.
const CHILD: &str = "EVENTBRIDGE_WIRE_CHILD";

/// `sdk_config_from_env` + `AwsEventBus::from_config`, as the function would build them,
/// in a process of its own: the environment is process-wide, and setting it here while
/// the other tests' SDK clients read it (the SDK reads variables on every request) would
/// race. The child is this same test binary running only the ignored test below.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_env_based_construction_honours_aws_endpoint_url_eventbridge() {
    let s = server().await;
    let url = s.url();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "publish_one_event_from_the_environment",
                "--ignored",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .env("AWS_ENDPOINT_URL_EVENTBRIDGE", url)
            // The generic override points nowhere: only the EventBridge one can work.
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env("AWS_REGION", "eu-west-3")
            .env("AWS_ACCESS_KEY_ID", "AKIDFROMTHEENVIRONMENT")
            .env("AWS_SECRET_ACCESS_KEY", "secret/from/the/environment")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_PROFILE", "no-such-profile")
            .env("AWS_CONFIG_FILE", "/nonexistent/lightsail-jit/config")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran its test: {stdout}"
    );
    assert_eq!(s.events().events().len(), 1);
    let requests = s.requests();
    let scope: Vec<&str> = requests[0].credential.split('/').collect();
    assert_eq!(scope[0], "AKIDFROMTHEENVIRONMENT");
    assert_eq!(&scope[2..], ["eu-west-3", "events", "aws4_request"]);
}

#[tokio::test]
#[ignore = "the child of the_env_based_construction_honours_aws_endpoint_url_eventbridge"]
async fn publish_one_event_from_the_environment() {
    if std::env::var_os(CHILD).is_none() {
        return; // run by hand without the parent: nothing to publish to
    }
    let config = lightsail_jit::lightsail::aws::sdk_config_from_env(
        lightsail_jit::lightsail::trust::TrustRoots::AmazonTrustServices,
    )
    .await
    .unwrap();
    let aws = AwsEventBus::from_config(&config);
    let results = aws.put_events(&[entry(1)]).await.unwrap();
    assert!(results[0].is_published(), "{results:?}");
}
