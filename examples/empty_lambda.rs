//! The cold-start reference for `scripts/bench.sh`: an empty lambda_runtime function
//! (echo handler, no logging setup, no SDK). Built with the same release profile as the
//! real function, so `exec → first GET /runtime/invocation/next` of the two can be
//! compared in one run.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
