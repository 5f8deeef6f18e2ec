//! Slack slash command requests as a Lambda Function URL delivers them, signed with the
//! test app's secret at the world's clock (tests/slack.rs, tests/audit.rs).

use base64::Engine;
use lightsail_jit::policy::Policy;
use lightsail_jit::slack::verify::{SigningSecret, sign};
use serde_json::{Value, json};

use super::{World, world_with};

pub const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
/// START as Unix seconds: the world's clock when a request is signed.
pub const SIGNED_AT: &str = "1795428000";

pub fn secret() -> SigningSecret {
    SigningSecret::new(SECRET.to_string()).unwrap()
}

pub fn slack_world(policy: Policy) -> World {
    world_with(policy).with_slack(secret())
}

/// A slash command's form body, as Slack sends it.
pub fn body(user: &str, text: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("token", "legacy-verification-token")
        .append_pair("team_id", "T0001")
        .append_pair("team_domain", "acme")
        .append_pair("channel_id", "C0123456")
        .append_pair("channel_name", "ops")
        .append_pair("user_id", user)
        .append_pair("user_name", "alice")
        .append_pair("command", "/jit")
        .append_pair("text", text)
        .append_pair(
            "response_url",
            "https://hooks.slack.com/commands/T0001/1234/abcd",
        )
        .append_pair("trigger_id", &format!("1234.5678.{user}{}", text.len()))
        .finish()
}

/// The Function URL event for `body`, with `headers` (already lower-cased by Lambda).
pub fn url_event(body: &str, headers: Value, base64: bool) -> Value {
    let body = match base64 {
        true => base64::engine::general_purpose::STANDARD.encode(body),
        false => body.to_string(),
    };
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefgh",
            "domainName": "abcdefgh.lambda-url.eu-west-1.on.aws",
            "http": {"method": "POST", "path": "/", "protocol": "HTTP/1.1",
                     "sourceIp": "3.3.3.3", "userAgent": "Slackbot 1.0"},
            "requestId": "req-1",
            "timeEpoch": 1795428000000u64
        },
        "body": body,
        "isBase64Encoded": base64
    })
}

/// A request signed with the test secret at `timestamp`.
pub fn signed_at(body: &str, timestamp: &str) -> Value {
    url_event(
        body,
        json!({
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": timestamp,
            "x-slack-signature": sign(SECRET.as_bytes(), timestamp, body.as_bytes()),
        }),
        false,
    )
}

pub fn signed(body: &str) -> Value {
    signed_at(body, SIGNED_AT)
}
