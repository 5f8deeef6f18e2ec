//! The Lambda function. Everything expensive happens once, before the first event:
//! logging, the SDK configuration, the policy (an invalid one stops the cold start with a
//! message naming the field) and the home Region's Lightsail client. Clients for other
//! Regions and EventBridge (`JIT_EVENT_BUS`) are built at their first use. No network
//! call is made here.
//!
//! The runtime is tokio's current-thread one: the work is waiting on Lightsail, which one
//! thread does as well as many (Lambda gives less than one vCPU below 1,769 MB), and
//! not starting worker threads is a measurable part of the cold start (BENCHMARKS.md).

// The handler's future nests the SDK's (each Lightsail call is several layers of
// `async` from smithy's orchestrator), and computing its layout goes deeper than rustc's
// default limit of 128: without this line the binary does not compile
// ("queries overflow the depth limit").
#![recursion_limit = "256"]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use lightsail_jit::clock::SystemClock;
use lightsail_jit::events::aws::LazyAwsEventBus;
use lightsail_jit::events::{Publisher, bus_name_from_env};
use lightsail_jit::handler::handle;
use lightsail_jit::lightsail::aws::{
    AwsLightsail, no_lightsail_region, other_regions, sdk_config_from_env,
};
use lightsail_jit::lightsail::trust::TrustRoots;
use lightsail_jit::policy::Policy;
use lightsail_jit::service::App;
use lightsail_jit::slack::verify::slack_secret_from_env;
use lightsail_jit::strict_json::Strict;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let roots = TrustRoots::from_env().inspect_err(cold_start_aborted)?;
    if roots == TrustRoots::System {
        tracing::warn!(%roots, "JIT_TLS_ROOTS: trusting the platform's root store");
    }
    let bus = bus_name_from_env().inspect_err(cold_start_aborted)?;
    let config = sdk_config_from_env(roots)
        .await
        .inspect_err(cold_start_aborted)?;
    // The policy after the configuration: the function's own Region (AWS_REGION) is what
    // a bare instance name and a command without `region` mean.
    let lightsail = AwsLightsail::from_config(&config)
        .ok_or_else(|| no_lightsail_region(&config))
        .inspect_err(cold_start_aborted)?;
    let policy = Policy::from_env(lightsail.region()).inspect_err(cold_start_aborted)?;
    // Other Regions' clients are built when a command first goes there.
    let regions = other_regions(&config, &policy);
    let slack = slack_secret_from_env();
    let mut app = App::new(lightsail, policy, SystemClock).with_regions(regions);
    if let Some(secret) = slack {
        app = app.with_slack(secret);
    }
    if let Some(bus) = bus {
        // The same configuration (one HTTPS client, one credentials cache); the client
        // itself is built at the first publish, off the cold path.
        app = app.with_events(Publisher::new(LazyAwsEventBus::new(&config), bus));
    }
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Strict>| async move {
        handle(app, event).await
    }))
    .await
}

/// Logs why the cold start stopped; Lambda then reports the returned error as an init
/// failure, and every invocation fails until the configuration is fixed.
fn cold_start_aborted<E: std::fmt::Display>(error: &E) {
    tracing::error!(error = %error, "cold start aborted");
}
