//! A second cold-start reference for `scripts/bench.sh`: lambda_runtime plus the
//! default tracing subscriber, aws-config and one Lightsail client (the issue's
//! "empty Rust Lambda on lambda_runtime + aws-config + aws-sdk-lightsail"), with an
//! echo handler. The difference between this and `empty_lambda` is what the SDK costs
//! at init; the difference between this and `lightsail-jit` is what our own code costs.

use aws_config::BehaviorVersion;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let client = aws_sdk_lightsail::Client::new(&config);
    let client = &client;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let _ = client;
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
