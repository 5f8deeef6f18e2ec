//! The real aws-sdk-lightsail client against the simulator served over HTTP: SigV4,
//! the JSON codecs, the SDK's retries, and our error classification, on loopback.

mod common;

use std::time::Duration;

use aws_sdk_lightsail::Client;
use aws_sdk_lightsail::config::retry::RetryConfig;
use aws_sdk_lightsail::config::timeout::TimeoutConfig;
use common::*;
use lightsail_jit::clock::ManualClock;
use lightsail_jit::firewall::{Protocol, RuleSet};
use lightsail_jit::ledger::Tag;
use lightsail_jit::lightsail::aws::AwsLightsail;
use lightsail_jit::lightsail::sim::http::{ErrorStyle, FaultKind, SimServer, WireFault};
use lightsail_jit::lightsail::{ErrorKind, Lightsail};
use lightsail_jit::policy::Policy;
use lightsail_jit::service::App;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The SDK as our adapter uses it, pointed at the server, with fast backoff so retry
/// tests take milliseconds.
fn adapter(url: &str, attempt_timeout: Option<Duration>) -> AwsLightsail {
    let mut config = sdk_config(url).retry_config(
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
    AwsLightsail::new(Client::from_conf(config.build()), HOME)
}

fn attempts(server: &SimServer, operation: &str) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.operation == operation)
        .count()
}

#[tokio::test]
async fn every_adapter_call_round_trips_signed_with_explicit_sources() {
    let s = sim_server(instances()).await;
    let aws = adapter(&s.url(), None);
    let web = aws.get_instance("web-1").await.unwrap();
    assert_eq!(web.ports, web_baseline());
    assert_eq!(web.tags, s.sim().tags("web-1"));
    let page = aws.get_instances(None).await.unwrap();
    assert_eq!(page.instances.len(), 3);
    assert_eq!(page.next_page_token, None);
    let ssh = rule(Protocol::Tcp, 22, 22, &["203.0.113.7/32"], &[], &[]);
    aws.open_instance_public_ports("web-1", &ssh).await.unwrap();
    assert!(
        s.sim()
            .firewall("web-1")
            .contains(&RuleSet::from_rules(std::slice::from_ref(&ssh)))
    );
    aws.put_instance_public_ports("db-1", std::slice::from_ref(&ssh))
        .await
        .unwrap();
    assert_eq!(s.sim().instance("db-1").unwrap().ports, vec![ssh]);
    aws.tag_resource(
        "web-1",
        &[
            Tag::new("jit:grant:x", "v1 1 2 tcp.22.22 1.2.3.4/32 a"),
            Tag {
                key: "k".into(),
                value: None,
            },
        ],
    )
    .await
    .unwrap();
    assert!(tag_keys_of(&s, "web-1").contains(&"jit:grant:x".to_string()));
    aws.untag_resource("web-1", &["jit:grant:x".into(), "k".into()])
        .await
        .unwrap();
    assert_eq!(tag_keys_of(&s, "web-1"), vec!["jit:managed", "owner"]);
    let requests = s.requests();
    assert_eq!(requests.len(), 6);
    assert!(
        requests
            .iter()
            .all(|r| r.signed && r.explicit_sources && r.status == 200),
        "{requests:?}"
    );
}

fn tag_keys_of(s: &SimServer, name: &str) -> Vec<String> {
    s.sim().tags(name).into_iter().map(|t| t.key).collect()
}

#[tokio::test]
async fn a_sweep_pages_through_65_instances_over_the_wire() {
    let many: Vec<_> = (0..65)
        .map(|i| managed(&format!("i-{i:03}"), web_baseline()))
        .collect();
    let s = sim_server(many).await;
    s.sim().set_page_size(7);
    let app = App::new(
        adapter(&s.url(), None),
        other_concerns(Policy::default()),
        ManualClock::new(START.parse().unwrap()),
    );
    for i in [0, 13, 64] {
        let g = grant_on(&format!("i-{i:03}"), &format!("g{i}"), "203.0.113.7", 60);
        let out = lightsail_jit::handler::handle(&app, lambda_event(&g, ""))
            .await
            .unwrap();
        assert_eq!(out["status"], "granted", "{out}");
    }
    app.clock.advance(Duration::from_secs(61));
    let out = lightsail_jit::handler::handle(&app, lambda_event(&sweep(), ""))
        .await
        .unwrap();
    assert_eq!(out["instances"], 65);
    assert_eq!(out["expired"], 3);
    assert_eq!(attempts(&s, "GetInstances"), 10, "65 instances at 7 a page");
    for i in 0..65 {
        assert_eq!(
            s.sim().instance(&format!("i-{i:03}")).unwrap().ports,
            web_baseline()
        );
    }
}

#[tokio::test]
async fn throttles_5xx_and_dropped_connections_are_retried_by_the_sdk() {
    let s = sim_server(instances()).await;
    let aws = adapter(&s.url(), None);
    s.inject(WireFault::new("GetInstance", FaultKind::Throttle).times(2));
    assert!(aws.get_instance("web-1").await.is_ok());
    assert_eq!(attempts(&s, "GetInstance"), 3);
    s.inject(WireFault::new("TagResource", FaultKind::ServerError).times(1));
    s.inject(WireFault::new("TagResource", FaultKind::Drop).times(1));
    aws.tag_resource("web-1", &[Tag::new("a", "b")])
        .await
        .unwrap();
    assert_eq!(attempts(&s, "TagResource"), 3);
}

#[tokio::test]
async fn past_the_retries_failures_are_transient() {
    let s = sim_server(instances()).await;
    let aws = adapter(&s.url(), Some(Duration::from_millis(150)));
    for (op, kind) in [
        ("GetInstance", FaultKind::Throttle),
        ("GetInstances", FaultKind::ServerError),
        ("PutInstancePublicPorts", FaultKind::Drop),
        ("UntagResource", FaultKind::Latency { millis: 600 }),
    ] {
        s.inject(WireFault::new(op, kind.clone()).times(3));
        let err = match op {
            "GetInstance" => aws.get_instance("web-1").await.map(|_| ()),
            "GetInstances" => aws.get_instances(None).await.map(|_| ()),
            "PutInstancePublicPorts" => {
                aws.put_instance_public_ports("web-1", &web_baseline())
                    .await
            }
            _ => aws.untag_resource("web-1", &["owner".into()]).await,
        }
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Transient, "{kind:?}: {err}");
        assert_eq!(attempts(&s, op), 3, "{kind:?}: the SDK tried three times");
    }
}

#[tokio::test]
async fn not_found_and_invalid_input_are_permanent_in_both_error_forms() {
    for style in [ErrorStyle::Plain, ErrorStyle::Lightsail] {
        let s = sim_server(instances()).await;
        s.set_error_style(style);
        let aws = adapter(&s.url(), None);
        let err = aws.get_instance("ghost-1").await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotFound, "{style:?}: {err}");
        let expected_code = if style == ErrorStyle::Plain {
            "NotFoundException"
        } else {
            "DoesNotExist"
        };
        assert_eq!(err.code, expected_code);
        let bad = rule(Protocol::Tcp, 22, 70000, &["203.0.113.7/32"], &[], &[]);
        let err = aws
            .open_instance_public_ports("web-1", &bad)
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput, "{style:?}: {err}");
        assert_eq!(
            s.requests().len(),
            2,
            "{style:?}: permanent errors are not retried"
        );
    }
}

#[tokio::test]
async fn the_handler_rejects_a_missing_instance_in_lightsails_error_form() {
    let s = sim_server(instances()).await;
    s.set_error_style(ErrorStyle::Lightsail);
    let app = App::new(
        adapter(&s.url(), None),
        other_concerns(Policy::default()),
        ManualClock::new(START.parse().unwrap()),
    );
    let g = grant_on("ghost-1", "g", "203.0.113.7", 60);
    let out = lightsail_jit::handler::handle(&app, lambda_event(&g, ""))
        .await
        .unwrap();
    assert_eq!(out["error"]["code"], "InstanceNotFound");
}

#[tokio::test]
async fn unsigned_requests_are_refused() {
    let s = sim_server(instances()).await;
    let mut stream = tokio::net::TcpStream::connect(s.addr()).await.unwrap();
    let body = r#"{"instanceName":"web-1"}"#;
    let request = format!(
        "POST / HTTP/1.1\r\nhost: {}\r\nx-amz-target: Lightsail_20161128.GetInstance\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        s.addr(),
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 403"), "{response}");
    assert!(response.contains("MissingAuthenticationTokenException"));
    assert!(!s.requests()[0].signed);
}

#[tokio::test]
async fn seeded_probabilistic_faults_repeat_exactly() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let s = sim_server(instances()).await;
        s.seed(42);
        s.inject(WireFault::new("GetInstance", FaultKind::ServerError).probability(0.5));
        let aws = adapter(&s.url(), None);
        for _ in 0..10 {
            let _ = aws.get_instance("web-1").await;
        }
        runs.push(s.requests().iter().map(|r| r.status).collect::<Vec<_>>());
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&500) && runs[0].contains(&200),
        "{:?}",
        runs[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_honours_aws_endpoint_url_lightsail() {
    let s = sim_server(instances()).await;
    let url = s.url();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_jit-local"))
            .args([
                "--aws",
                &format!("{}/events/status.json", env!("CARGO_MANIFEST_DIR")),
            ])
            .env("AWS_ENDPOINT_URL_LIGHTSAIL", url)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("JIT_POLICY")
            .env_remove("JIT_POLICY_FILE")
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
    assert!(stdout.contains(r#""status":"status""#), "{stdout}");
    assert!(
        stdout.contains(r#""instanceName":"web-1""#) && stdout.contains(r#""instanceName":"db-1""#),
        "{stdout}"
    );
    assert!(
        s.requests()
            .iter()
            .any(|r| r.operation == "GetInstances" && r.signed)
    );
}

/// `POST /_sim/open-mode` makes the served simulator's Open replace an existing rule's
/// sources; through the real SDK, a grant on web-1's SSH (browser SSH in its baseline)
/// still leaves the baseline's source open beside its own, by its check and repair.
#[tokio::test]
async fn over_http_a_grant_is_whole_when_open_replaces_sources() {
    let s = sim_server(instances()).await;
    let control = |body: &'static str| {
        let addr = s.addr();
        async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            let request = format!(
                "POST /_sim/open-mode HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).await.unwrap();
            response
        }
    };
    let refused = control("\"sideways\"").await;
    assert!(refused.starts_with("HTTP/1.1 400"), "{refused}");
    let accepted = control("\"replace\"").await;
    assert!(accepted.starts_with("HTTP/1.1 200"), "{accepted}");

    // The raw semantics: a second Open on SSH replaces browser SSH.
    let ls = adapter(&s.url(), None);
    let only = rule(Protocol::Tcp, 22, 22, &["192.0.2.44/32"], &[], &[]);
    ls.open_instance_public_ports("db-1", &only).await.unwrap();
    let replaced = rule(Protocol::Tcp, 22, 22, &["198.51.100.9/32"], &[], &[]);
    ls.open_instance_public_ports("db-1", &replaced)
        .await
        .unwrap();
    let db = RuleSet::from_rules(&s.sim().instance("db-1").unwrap().ports);
    assert!(db.contains(&RuleSet::from_rules(&[replaced])));
    assert!(
        !db.contains(&RuleSet::from_rules(&[only])),
        "Open replaced: {db:?}"
    );

    // The function, through the SDK: the grant ends whole, baseline and all.
    let app = App::new(
        adapter(&s.url(), None),
        other_concerns(Policy::default()),
        ManualClock::new(START.parse().unwrap()),
    );
    let out =
        lightsail_jit::handler::handle(&app, lambda_event(&grant("g", "203.0.113.7", 600), "r"))
            .await
            .unwrap();
    assert_eq!(out["status"], "granted", "{out}");
    let mut expected = RuleSet::from_rules(&web_baseline());
    expected.add_rule(&rule(Protocol::Tcp, 22, 22, &["203.0.113.7/32"], &[], &[]));
    assert_eq!(s.sim().firewall("web-1"), expected);
    assert_eq!(
        attempts(&s, "OpenInstancePublicPorts"),
        2 + 2,
        "db-1's two, the grant's and its repair"
    );
}

/// One server, two Regions (#15): the real SDK signs for its Region, and the simulator
/// answers each client from that Region's world — the same instance name in both is two
/// instances, and a write through one client never shows in the other.
#[tokio::test]
async fn one_server_answers_each_region_from_its_own_world() {
    use std::collections::BTreeMap;
    use std::net::{Ipv4Addr, SocketAddr};
    let eu = managed(
        "web-1",
        vec![rule(Protocol::Tcp, 443, 443, &["0.0.0.0/0"], &[], &[])],
    );
    let server = SimServer::start_with_regions(
        lightsail_jit::lightsail::sim::Sim::new(instances()),
        BTreeMap::from([(
            "eu-west-1".to_string(),
            lightsail_jit::lightsail::sim::Sim::new([eu]),
        )]),
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    )
    .await
    .unwrap();
    let home = adapter(&server.url(), None);
    let ireland = AwsLightsail::new(
        Client::from_conf(
            sdk_config(&server.url())
                .region(aws_sdk_lightsail::config::Region::new("eu-west-1"))
                .build(),
        ),
        Region::parse("eu-west-1").unwrap(),
    );
    let home_web = home.get_instance("web-1").await.unwrap();
    let eu_web = ireland.get_instance("web-1").await.unwrap();
    assert_eq!(
        RuleSet::from_rules(&home_web.ports),
        RuleSet::from_rules(&web_baseline())
    );
    assert_eq!(
        RuleSet::from_rules(&eu_web.ports),
        RuleSet::from_rules(&[rule(Protocol::Tcp, 443, 443, &["0.0.0.0/0"], &[], &[])])
    );
    // db-1 exists only at home.
    let missing = ireland.get_instance("db-1").await.unwrap_err();
    assert_eq!(missing.kind, ErrorKind::NotFound, "{missing}");
    // A write in Ireland stays in Ireland.
    let ssh = rule(Protocol::Tcp, 22, 22, &["203.0.113.7/32"], &[], &[]);
    ireland
        .open_instance_public_ports("web-1", &ssh)
        .await
        .unwrap();
    let eu_sim = server.region("eu-west-1").unwrap();
    assert!(
        eu_sim
            .firewall("web-1")
            .contains(&RuleSet::from_rules(std::slice::from_ref(&ssh)))
    );
    assert!(
        !server
            .sim()
            .firewall("web-1")
            .contains(&RuleSet::from_rules(&[ssh]))
    );
    let regions: Vec<String> = server.requests().into_iter().map(|r| r.region).collect();
    assert_eq!(
        regions,
        vec!["us-east-1", "eu-west-1", "eu-west-1", "eu-west-1"],
        "each request logged with the Region it was signed for"
    );
    // The control plane shows each Region's instances.
    let get = |path: &'static str| {
        let addr = server.addr();
        async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            let request =
                format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).await.unwrap();
            response
        }
    };
    let eu_listed = get("/_sim/regions/eu-west-1/instances").await;
    assert!(eu_listed.starts_with("HTTP/1.1 200"), "{eu_listed}");
    assert!(
        eu_listed.contains("203.0.113.7/32") && !eu_listed.contains("db-1"),
        "{eu_listed}"
    );
    let unknown = get("/_sim/regions/ap-south-9/instances").await;
    assert!(unknown.starts_with("HTTP/1.1 404"), "{unknown}");
}

/// One function, two Regions, over the wire (#15): the home client comes from the
/// configuration, eu-west-1's is built from the same configuration on first use
/// (`other_regions`), and every call it makes is signed for eu-west-1, so the simulator
/// answers it from that Region's world. A sweep without `region` goes to both.
#[tokio::test]
async fn the_function_reaches_each_region_with_its_own_signed_client() {
    use aws_sdk_lightsail::config::SharedCredentialsProvider;
    use lightsail_jit::lightsail::aws::other_regions;
    use serde_json::json;
    use std::collections::{BTreeMap, BTreeSet};
    use std::net::{Ipv4Addr, SocketAddr};
    let server = SimServer::start_with_regions(
        lightsail_jit::lightsail::sim::Sim::new(instances()),
        BTreeMap::from([(
            "eu-west-1".to_string(),
            lightsail_jit::lightsail::sim::Sim::new(instances()),
        )]),
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    )
    .await
    .unwrap();
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_sdk_lightsail::config::Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(
            aws_sdk_lightsail::config::Credentials::new("test", "test", None, None, "test"),
        ))
        .endpoint_url(server.url())
        .build();
    let policy = Policy::from_value(json!({
        "regions": ["us-east-1", "eu-west-1"], "requireIssuedAt": false
    }))
    .unwrap();
    let regions = other_regions(&config, &policy);
    let home = AwsLightsail::from_config(&config).unwrap();
    let app =
        App::new(home, policy, ManualClock::new(START.parse().unwrap())).with_regions(regions);
    assert_eq!(app.regions.built(), 0);

    let mut grant = grant_on("web-1", "eu-1", "203.0.113.7", 3600);
    grant["region"] = json!("eu-west-1");
    let out = lightsail_jit::handler::handle(&app, lambda_event(&grant, "req-eu"))
        .await
        .unwrap();
    assert_eq!(out["status"], "granted", "{out}");
    assert_eq!(out["region"], "eu-west-1", "{out}");
    assert_eq!(app.regions.built(), 1);
    let signed: Vec<String> = server.requests().into_iter().map(|r| r.region).collect();
    assert!(
        !signed.is_empty() && signed.iter().all(|r| r == "eu-west-1"),
        "{signed:?}"
    );
    let eu_sim = server.region("eu-west-1").unwrap();
    assert!(eu_sim.firewall("web-1").contains(&ssh_from("203.0.113.7")));
    assert!(
        !server
            .sim()
            .firewall("web-1")
            .contains(&ssh_from("203.0.113.7"))
    );

    let out = lightsail_jit::handler::handle(
        &app,
        lambda_event(&json!({"action": "sweep"}), "req-sweep"),
    )
    .await
    .unwrap();
    assert_eq!(out["status"], "swept", "{out}");
    let signed: BTreeSet<String> = server.requests().into_iter().map(|r| r.region).collect();
    assert_eq!(
        signed,
        BTreeSet::from(["eu-west-1".to_string(), "us-east-1".to_string()])
    );
    assert_eq!(app.regions.built(), 1, "the client is built once");
}
