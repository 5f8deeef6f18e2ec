//! One slash command, from the Function URL event to Slack's answer, in the order that
//! makes it safe:
//!
//! 1. the HTTP request is read and bounded (`request`), and refused as such when it is
//!    not Slack's shape — no signature is even computed over an oversized body;
//! 2. the signature is checked (`verify`) before the body is parsed: an unsigned body is
//!    never interpreted, and without `SLACK_SIGNING_SECRET` every request is refused;
//! 3. the form is read (`form`) and the text parsed (`grammar`) into a command, to which
//!    this file adds what only Slack can vouch for: `requester` = `slack:<team>:<user>`,
//!    `issuedAt` = the signed timestamp, `replyTo` = the channel and response URL, and a
//!    `requestId` made of the signed request itself, so a retry of the same request is
//!    the same grant;
//! 4. the command runs through the same validation, freshness, policy and use cases as
//!    every other entry point, within [`BUDGET`] of Slack's 3 seconds; one that cannot
//!    finish in time (a slow or throttling Lightsail) is handed on to the queue through
//!    the bus ([`DEFERRED_COMMAND`]) and answered "working on it": its outcome reaches
//!    the channel as an outcome event, with the same `replyTo`. Dropping the unfinished
//!    attempt is safe because every command is idempotent in its effect under
//!    redelivery, and the handed-on copy has the same `requestId`.
//!
//! Every refusal and every accepted command leaves an audit line with the Slack user.

use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::form::{self, SlashCommand};
use super::grammar::{self, SlackCommand};
use super::reply;
use super::request::{self, Refusal};
use super::verify;
use crate::clock::{Clock, rfc3339};
use crate::command::{Command, Echo};
use crate::envelope::SentAt;
use crate::lightsail::Lightsail;
use crate::service::App;

/// How long a command may run before it is handed on: Slack waits 3 s for the answer,
/// and the answer itself must still travel back.
pub const BUDGET: Duration = Duration::from_millis(2_500);

/// The detail type of a command handed on to the queue through the bus. The template's
/// rule for it is the only one that takes `lightsail-jit` events to the queue, and no
/// outcome event has this type, so the function's own outcomes never loop back.
pub const DEFERRED_COMMAND: &str = "JIT Command";

/// The Function URL's answer to `event`.
pub async fn serve<L: Lightsail, C: Clock>(app: &App<L, C>, event: &Value) -> Value {
    match accept(app, event) {
        Ok((slash, command, id)) => run(app, &slash, command, &id).await,
        Err(Answer::Refused(refusal)) => {
            tracing::warn!(
                audit = true,
                decision = "refused",
                slack = true,
                status = refusal.status,
                reason = refusal.reason.as_str(),
                "slack request refused"
            );
            reply::http_refusal(refusal.status, &refusal.reason)
        }
        Err(Answer::Say(message)) => reply::http(200, &message),
    }
}

/// What a request gets that runs no command.
enum Answer {
    /// At the HTTP level: not Slack's, or not signed by it.
    Refused(Refusal),
    /// A message to the user: help, or why the text is not a command.
    Say(Value),
}

impl From<Refusal> for Answer {
    fn from(refusal: Refusal) -> Self {
        Answer::Refused(refusal)
    }
}

/// Steps 1-3: the verified slash command and the command JSON it asks for.
fn accept<L: Lightsail, C: Clock>(
    app: &App<L, C>,
    event: &Value,
) -> Result<(SlashCommand, Value, String), Answer> {
    let http = request::read(event)?;
    let secret = app.slack.as_ref().ok_or_else(|| {
        Refusal::unauthorized(format!(
            "Slack requests are refused: {} is not set",
            verify::SECRET_VAR
        ))
    })?;
    let signed_at = verify::verify(
        secret.as_bytes(),
        http.timestamp(),
        http.body(),
        http.signature(),
        app.clock.now(),
    )?;
    let slash = form::parse(http.body())?;
    let parsed = match grammar::parse(&slash.text) {
        Ok(SlackCommand::Help) => return Err(Answer::Say(reply::ephemeral(&grammar::help_text()))),
        Ok(parsed) => parsed,
        Err(e) => return Err(Answer::Say(reply::ephemeral(&format!(":warning: {e}")))),
    };
    let Some(mut command) = parsed.to_command() else {
        return Err(Answer::Say(reply::ephemeral(&grammar::help_text())));
    };
    // Who asks is who Slack says (status names nobody: it only reads).
    if !matches!(parsed, SlackCommand::Status { .. }) {
        command["requester"] = json!(slash.requester());
    }
    command["issuedAt"] = json!(rfc3339(signed_at));
    let mut reply_to = serde_json::Map::new();
    if !slash.channel_id.is_empty() {
        reply_to.insert("channel".into(), json!(slash.channel_id));
    }
    if let Some(url) = &slash.response_url {
        reply_to.insert("responseUrl".into(), json!(url));
    }
    if !reply_to.is_empty() {
        command["replyTo"] = Value::Object(reply_to);
    }
    // A grant is named by the request that asked for it; revoke and extend use
    // `requestId` to name the grant they are about (and the request's id is theirs as
    // the delivery's).
    let id = request_id(http.body());
    if matches!(parsed, SlackCommand::Grant { .. }) {
        command["requestId"] = json!(id);
    }
    Ok((slash, command, id))
}

/// `slack-` + 24 hex digits of SHA-256 over the signed body: the same for Slack's
/// retries of one request (same body, with its `trigger_id`), different for every
/// other request.
pub fn request_id(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("slack-{hex}")
}

/// Step 4: the command, within the budget, and Slack's answer.
async fn run<L: Lightsail, C: Clock>(
    app: &App<L, C>,
    slash: &SlashCommand,
    json: Value,
    delivery_id: &str,
) -> Value {
    let who = format!("<@{}>", slash.user_id);
    let command = match Command::from_json(&json) {
        Ok(command) => command,
        Err(rejection) => {
            let outcome = app
                .refuse(delivery_id, &Echo::read(&json), &rejection)
                .await;
            return reply::http(200, &reply::message(&outcome, &who, app.clock.now()));
        }
    };
    tracing::info!(
        audit = true,
        decision = "accepted",
        slack = true,
        requester = slash.requester().as_str(),
        slackUser = slash.user_name.as_str(),
        requestId = command.request_id.as_deref().unwrap_or(delivery_id),
        action = command.action.name(),
        text = slash.text.as_str(),
        "slack command accepted"
    );
    let deliver = app.deliver(&command, delivery_id, &SentAt::Direct);
    // Without a bus nothing could carry a late outcome: the command runs to its end.
    let finished = match &app.events {
        Some(_) => tokio::time::timeout(BUDGET, deliver).await.ok(),
        None => Some(deliver.await),
    };
    let now = app.clock.now();
    match finished {
        Some(Ok(outcome)) => reply::http(200, &reply::message(&outcome, &who, now)),
        // Not done in time, or done with a transient failure: the queue retries it.
        Some(Err(_)) | None => defer(app, &who, &json, delivery_id).await,
    }
}

/// Hand the command on to the queue through the bus, and say so.
async fn defer<L: Lightsail, C: Clock>(
    app: &App<L, C>,
    who: &str,
    json: &Value,
    delivery_id: &str,
) -> Value {
    let request_id = json["requestId"]
        .as_str()
        .unwrap_or(delivery_id)
        .to_string();
    let handed_on = match &app.events {
        Some(bus) => bus.put_one(DEFERRED_COMMAND, json.to_string()).await,
        None => Err("no JIT_EVENT_BUS to hand it on to".to_string()),
    };
    match handed_on {
        Ok(()) => {
            tracing::info!(
                audit = true,
                decision = "deferred",
                slack = true,
                requestId = request_id.as_str(),
                "slack command handed on to the queue"
            );
            reply::http(200, &reply::working(who, &request_id))
        }
        Err(why) => {
            tracing::warn!(
                slack = true,
                requestId = request_id.as_str(),
                error = why.as_str(),
                "slack command could not be handed on"
            );
            // Not a rejection (the command may be fine), and not known to be undone: the
            // attempt may have recorded a grant before it was cut short.
            reply::http(
                200,
                &reply::ephemeral(&format!(
                    ":warning: {who}: Lightsail is slow or busy and the command could not be queued ({}); it may not have taken effect — check `/jit status` before sending it again.",
                    crate::announce::slack_safe(&why)
                )),
            )
        }
    }
}
