//! A third cold-start reference for `scripts/bench.sh`: `empty_lambda` on tokio's
//! current-thread runtime, the flavour `lightsail-jit` uses. Comparing against it shows
//! how much of the function's cold start is left once both skip the worker threads.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
