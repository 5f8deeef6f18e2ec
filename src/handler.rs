//! The Lambda handler: payload in, outcome out.
//!
//! A Lambda Function URL request (`requestContext.http`) is the Slack slash command
//! (`slack`): it answers with an HTTP response, whatever the command's outcome.
//!
//! Direct and EventBridge invocations answer with the command's outcome, or an error
//! when the failure was transient (so Lambda's async retries or EventBridge deliver it
//! again). SQS batches answer with `batchItemFailures` naming only the records that
//! failed transiently: a rejected record is done, and retrying it could not help.
//! Records for different instances run concurrently; records for one instance run in
//! order, so a grant and a revoke sent together apply as sent.

use std::collections::BTreeMap;

use aws_lambda_events::sqs::SqsBatchResponse;
use futures::future::join_all;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;
use tracing::Instrument;

use crate::clock::Clock;
use crate::envelope::{Delivery, Payload, Record, UnreportableRecord};
use crate::lightsail::Lightsail;
use crate::outcome::Outcome;
use crate::region::Region;
use crate::service::{App, Transient};
use crate::strict_json::Strict;

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Transient(#[from] Transient),
    #[error(transparent)]
    Unreportable(#[from] UnreportableRecord),
    #[error("cannot serialise the outcome: {0}")]
    Serialise(#[from] serde_json::Error),
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Diagnostic {
        let error_type = match &e {
            HandlerError::Transient(_) => "Transient",
            HandlerError::Unreportable(_) => "UnreportableRecord",
            HandlerError::Serialise(_) => "Serialise",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}

/// The entry point of every front (Lambda, `jit-local`, the tests): the payload as read
/// by the strict parser, so a payload that names a key twice is rejected
/// (`DuplicateField`) instead of silently taking the last value.
pub async fn handle<L: Lightsail, C: Clock>(
    app: &App<L, C>,
    event: LambdaEvent<Strict>,
) -> Result<Value, HandlerError> {
    // A Function URL request is the Slack front door: an HTTP answer, not an outcome.
    #[cfg(feature = "slack")]
    if crate::slack::request::is_function_url(&event.payload.value) {
        return Ok(crate::slack::serve(app, &event.payload.value).await);
    }
    match Payload::from_strict(&event.payload, &event.context.request_id)? {
        Payload::Single(delivery) => Ok(serde_json::to_value(run(app, &delivery).await?)?),
        Payload::Batch(records) => Ok(serde_json::to_value(batch(app, records).await)?),
    }
}

/// Run one delivery: a rejected envelope or command becomes a `rejected` outcome, and
/// so does a `grant` or `extend` too old to run (`App::deliver`).
pub async fn run<L: Lightsail, C: Clock>(
    app: &App<L, C>,
    delivery: &Delivery,
) -> Result<Outcome, Transient> {
    match &delivery.command {
        Ok(command) => app.deliver(command, &delivery.id, &delivery.sent_at).await,
        Err(rejection) => Ok(app.refuse(&delivery.id, &delivery.echo, rejection).await),
    }
}

pub async fn batch<L: Lightsail, C: Clock>(
    app: &App<L, C>,
    records: Vec<Record>,
) -> SqsBatchResponse {
    // Lanes: one per instance, in arrival order, so a grant and a revoke of one instance
    // sent together apply as sent (their ledger writes would race otherwise); records
    // about no single instance (sweep, lockdown, status of all, rejected envelopes)
    // each run alone. Lanes run concurrently: a batch costs about its longest lane.
    // An instance is its Region and name: `web-1` without `region` and `web-1` in the
    // home Region are one lane.
    let mut groups: BTreeMap<(Region, &str), Vec<&Record>> = BTreeMap::new();
    let mut solo = Vec::new();
    for record in &records {
        let command = record.delivery.command.as_ref().ok();
        match command.and_then(|c| Some((c.region, c.action.instance_name()?))) {
            Some((region, name)) => groups
                .entry((region.unwrap_or(app.policy.home), name))
                .or_default()
                .push(record),
            None => solo.push(vec![record]),
        }
    }
    let lanes = groups.into_values().chain(solo);
    let results = join_all(lanes.map(|lane| async move {
        let mut failed = Vec::new();
        for record in lane {
            let span = tracing::info_span!("record", messageId = %record.message_id);
            match run(app, &record.delivery).instrument(span).await {
                Ok(outcome) => tracing::info!(messageId = %record.message_id, status = outcome.status(), "record done"),
                Err(err) => {
                    tracing::warn!(messageId = %record.message_id, error = %err, "record will be retried");
                    failed.push(record.message_id.clone());
                }
            }
        }
        failed
    }))
    .await;
    let failed: Vec<String> = results.into_iter().flatten().collect();
    let mut response = SqsBatchResponse::default();
    for record in &records {
        if failed.contains(&record.message_id) {
            response.add_failure(record.message_id.clone());
        }
    }
    response
}
