//! Slash commands sent from a file: `jit-local` signs a sample Function URL request at
//! the story's time, as Slack would, with the runner's signing secret — the one in
//! `SLACK_SIGNING_SECRET`, or [`LOCAL_SECRET`] when that is unset — and serves the slash
//! command with the same secret. The sample's own timestamp and signature are replaced;
//! its body is sent byte for byte.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::slack::request::{SIGNATURE_HEADER, TIMESTAMP_HEADER, is_function_url};
use crate::slack::verify::{SigningSecret, sign, slack_secret_from_env};

/// The signing secret of local runs and of the samples in `events/` (a test value: it
/// signs nothing anywhere else).
pub const LOCAL_SECRET: &str = "jit-local-slack-signing-secret";

/// The runner's secret: `SLACK_SIGNING_SECRET`, else [`LOCAL_SECRET`] (never empty,
/// so always `Some`).
pub fn local_secret() -> Option<SigningSecret> {
    slack_secret_from_env().or_else(|| SigningSecret::new(LOCAL_SECRET.to_string()).ok())
}

/// `payload`, when it is a signed Slack request, signed again at `now` with `secret`.
pub fn resign(payload: &mut Value, now: Timestamp, secret: &SigningSecret) {
    if !is_function_url(payload) {
        return;
    }
    let Some(headers) = payload.get("headers").and_then(Value::as_object) else {
        return;
    };
    let named = |wanted: &str| {
        headers
            .keys()
            .find(|k| k.eq_ignore_ascii_case(wanted))
            .cloned()
    };
    let (Some(ts_key), Some(sig_key)) = (named(TIMESTAMP_HEADER), named(SIGNATURE_HEADER)) else {
        return;
    };
    let text = payload["body"].as_str().unwrap_or("").to_string();
    let body = match payload["isBase64Encoded"].as_bool() {
        Some(true) => match BASE64.decode(&text) {
            Ok(bytes) => bytes,
            Err(_) => return,
        },
        _ => text.into_bytes(),
    };
    let timestamp = now.as_second().to_string();
    let signature = sign(secret.as_bytes(), &timestamp, &body);
    payload["headers"][ts_key] = json!(timestamp);
    payload["headers"][sig_key] = json!(signature);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slack::verify::verify;

    #[test]
    fn a_sample_is_signed_again_at_the_story_time() {
        let secret = SigningSecret::new(LOCAL_SECRET.into()).unwrap();
        let mut event = json!({
            "requestContext": {"http": {"method": "POST"}},
            "headers": {"content-type": "application/x-www-form-urlencoded",
                        "X-Slack-Request-Timestamp": "1", "x-slack-signature": "v0=00"},
            "body": "team_id=T1&user_id=U1&command=%2Fjit&text=help",
            "isBase64Encoded": false
        });
        let now: Timestamp = "2026-11-23T10:00:00Z".parse().unwrap();
        resign(&mut event, now, &secret);
        let ts = event["headers"]["X-Slack-Request-Timestamp"]
            .as_str()
            .unwrap();
        assert_eq!(ts, now.as_second().to_string());
        let sig = event["headers"]["x-slack-signature"].as_str().unwrap();
        let body = event["body"].as_str().unwrap().as_bytes();
        assert_eq!(verify(secret.as_bytes(), ts, body, sig, now), Ok(now));
        // Not a Slack request: left alone.
        let mut other = json!({"action": "status"});
        resign(&mut other, now, &secret);
        assert_eq!(other, json!({"action": "status"}));
    }
}
