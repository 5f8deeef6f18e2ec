//! `jit-local`: run event files through the Lambda handler on this machine.
//! See `lightsail_jit::local` and `jit-local --help`.

// The handler's future nests the SDK's (each Lightsail call is several layers of
// `async` from smithy's orchestrator), and computing its layout goes deeper than rustc's
// default limit of 128: without this line the binary does not compile
// ("queries overflow the depth limit").
#![recursion_limit = "256"]

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use lightsail_jit::clock::ManualClock;
use lightsail_jit::events::Publisher;
use lightsail_jit::events::sim::EventsSim;
use lightsail_jit::lightsail::Lightsail;
use lightsail_jit::lightsail::aws::{
    AwsLightsail, no_lightsail_region, other_regions, sdk_config_from_env,
};
use lightsail_jit::lightsail::sim::Sim;
use lightsail_jit::lightsail::trust::TrustRoots;
use lightsail_jit::local::{Args, RunnerClock, Step, local_secret, parse_args, run_steps};
use lightsail_jit::policy::Policy;
use lightsail_jit::region::Region;
use lightsail_jit::service::App;

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("jit-local: {message}");
            ExitCode::from(2)
        }
    }
}

/// `--policy`'s file, else the environment's (`JIT_POLICY_FILE`, `JIT_POLICY`), for a
/// function in `home`.
fn load_policy(args: &Args, home: Region) -> Result<Policy, String> {
    match &args.policy {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            Policy::from_json_in(&text, home)
        }
        None => Policy::from_env(home),
    }
    .map_err(|e| e.to_string())
}

async fn run(args: Args) -> Result<bool, String> {
    if std::env::var_os("RUST_LOG").is_some() {
        lambda_runtime::tracing::init_default_subscriber_with_writer(std::io::stderr);
    }
    if args.aws {
        let roots = TrustRoots::from_env().map_err(|e| e.to_string())?;
        eprintln!(
            "jit-local: --aws: using real Lightsail with the default credential chain \
             (trusted roots: {roots})"
        );
        let config = sdk_config_from_env(roots)
            .await
            .map_err(|e| format!("cannot build the HTTPS client: {e}"))?;
        let lightsail =
            AwsLightsail::from_config(&config).ok_or_else(|| no_lightsail_region(&config))?;
        let policy = load_policy(&args, lightsail.region())?;
        let regions = other_regions(&config, &policy);
        let app = App::new(lightsail, policy, RunnerClock::System).with_regions(regions);
        return report(&with_slack(app), &args.steps, None).await;
    }
    // The simulator is one Region's Lightsail: us-east-1's.
    let policy = load_policy(&args, Region::US_EAST_1)?;
    let fixture = std::fs::read_to_string(&args.fixture)
        .map_err(|e| format!("{}: {e}", args.fixture.display()))?;
    let sim =
        Sim::from_fixture_json(&fixture).map_err(|e| format!("{}: {e}", args.fixture.display()))?;
    let start = args.at.unwrap_or_else(jiff::Timestamp::now);
    // An in-memory bus, so each step shows the events it would publish.
    let bus = Arc::new(EventsSim::new());
    let app = App::new(sim, policy, RunnerClock::Simulated(ManualClock::new(start)))
        .with_events(Publisher::new(bus.clone(), "jit-local"));
    let app = with_slack(app);
    report(&app, &args.steps, Some(&bus)).await
}

/// Slash command samples are signed, and served, with the runner's secret.
fn with_slack<L: Lightsail>(app: App<L, RunnerClock>) -> App<L, RunnerClock> {
    match local_secret() {
        Some(secret) => app.with_slack(secret),
        None => app,
    }
}

async fn report<L: Lightsail>(
    app: &App<L, RunnerClock>,
    steps: &[Step],
    bus: Option<&EventsSim>,
) -> Result<bool, String> {
    let out = Mutex::new(String::new());
    let results = run_steps(app, steps, bus, &out).await;
    print!("{}", out.into_inner().unwrap_or_else(|e| e.into_inner()));
    Ok(results?.iter().all(|r| r.outcome.is_ok()))
}
