//! `jit-sim`: the Lightsail simulator served over HTTP on loopback, for the local loop
//! (`cargo lambda watch` with `AWS_ENDPOINT_URL_LIGHTSAIL`) and end-to-end scripts. The
//! same port answers EventBridge's `PutEvents` (`AWS_ENDPOINT_URL_EVENTBRIDGE`); what it
//! received is at `GET /_sim/events`. A fixture may name other Regions
//! (`"regions": {"eu-west-1": {"instances": [...]}}`): requests signed for one are
//! answered by its own simulator.
//!
//! usage: jit-sim [--port PORT] [--fixture FILE] [--page-size N] [--error-style plain|lightsail] [--open-mode merge|replace]

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use lightsail_jit::lightsail::sim::http::{ErrorStyle, SimServer};
use lightsail_jit::lightsail::sim::{OpenMode, Sim};

struct Args {
    port: u16,
    fixture: String,
    page_size: usize,
    style: ErrorStyle,
    open_mode: OpenMode,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        port: 4566,
        fixture: "events/instances.json".into(),
        page_size: 25,
        style: ErrorStyle::Plain,
        open_mode: OpenMode::Merge,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => parsed.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--fixture" => parsed.fixture = value()?,
            "--page-size" => {
                parsed.page_size = value()?.parse().map_err(|e| format!("--page-size: {e}"))?
            }
            "--error-style" => {
                parsed.style = match value()?.as_str() {
                    "plain" => ErrorStyle::Plain,
                    "lightsail" => ErrorStyle::Lightsail,
                    other => return Err(format!("--error-style {other:?}: plain or lightsail")),
                }
            }
            "--open-mode" => {
                parsed.open_mode = match value()?.as_str() {
                    "merge" => OpenMode::Merge,
                    "replace" => OpenMode::Replace,
                    other => return Err(format!("--open-mode {other:?}: merge or replace")),
                }
            }
            _ => {
                return Err(format!(
                    "unknown argument {flag}\nusage: jit-sim [--port PORT] [--fixture FILE] [--page-size N] [--error-style plain|lightsail] [--open-mode merge|replace]"
                ));
            }
        }
    }
    Ok(parsed)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let fixture = match std::fs::read_to_string(&args.fixture) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("jit-sim: {}: {e}", args.fixture);
            return ExitCode::from(2);
        }
    };
    let (sim, regions) = match Sim::regions_from_fixture_json(&fixture) {
        Ok(sims) => sims,
        Err(e) => {
            eprintln!("jit-sim: {}: {e}", args.fixture);
            return ExitCode::from(2);
        }
    };
    for sim in std::iter::once(&sim).chain(regions.values()) {
        sim.set_page_size(args.page_size);
        sim.set_open_mode(args.open_mode);
    }
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let served: Vec<String> = regions.keys().cloned().collect();
    let server = match SimServer::start_with_regions(sim, regions, addr).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("jit-sim: cannot listen on {addr}: {e}");
            return ExitCode::from(1);
        }
    };
    server.set_error_style(args.style);
    let also = match served.is_empty() {
        true => String::new(),
        false => format!("; also Regions {} by signing Region", served.join(", ")),
    };
    println!(
        "jit-sim: Lightsail simulator on {} (fixture {}{also}; EventBridge PutEvents too, received events at /_sim/events)",
        server.url(),
        args.fixture
    );
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}
