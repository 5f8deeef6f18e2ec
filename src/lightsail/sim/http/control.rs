//! The control plane under `/_sim/`: what scripts (and `jit-sim` users with `curl`) use
//! to look inside the simulator and steer it, without an AWS client or signatures.
//!
//! `GET /_sim/instances` (`/_sim/regions/<region>/instances` for another Region the
//! server serves), `GET /_sim/events` and `GET /_sim/requests` read the state
//! (instances; the entries PutEvents accepted, with their ids) and the request log;
//! `POST /_sim/faults` replaces the wire faults, `POST /_sim/error-style` picks how
//! errors are encoded and `POST /_sim/open-mode` (`"merge"` or `"replace"`) what Open
//! does to an existing rule. It is not Lightsail's API, so its answers are plain JSON with an
//! `error` member when something is wrong.

use hyper::{Method, StatusCode};
use serde_json::json;

use super::faults::WireFault;
use super::server::{Shared, lock};
use super::wire::{ErrorStyle, Reply, reply};
use crate::lightsail::sim::OpenMode;

/// The `<region>` of `/_sim/regions/<region>/instances`: another Region's instances.
fn region_of(path: &str) -> Option<&str> {
    path.strip_prefix("/_sim/regions/")?
        .strip_suffix("/instances")
        .filter(|region| !region.is_empty() && !region.contains('/'))
}

pub(super) fn respond(shared: &Shared, method: &Method, path: &str, body: &[u8]) -> Reply {
    let bad = |why: String| reply(StatusCode::BAD_REQUEST, &json!({"error": why}));
    match (method.as_str(), path) {
        ("GET", "/_sim/instances") => reply(StatusCode::OK, &json!(shared.sim.instances())),
        ("GET", region_path) if region_of(region_path).is_some() => {
            let region = region_of(region_path).unwrap_or_default();
            match shared.regions.get(region) {
                Some(sim) => reply(StatusCode::OK, &json!(sim.instances())),
                None => reply(
                    StatusCode::NOT_FOUND,
                    &json!({"error": format!("no Region {region:?} besides the home Region")}),
                ),
            }
        }
        ("GET", "/_sim/events") => reply(StatusCode::OK, &json!(shared.events.events())),
        ("GET", "/_sim/requests") => reply(StatusCode::OK, &json!(*lock(&shared.requests))),
        ("POST", "/_sim/faults") => match serde_json::from_slice::<Vec<WireFault>>(body) {
            Ok(faults) => {
                *lock(&shared.faults) = faults;
                reply(StatusCode::OK, &json!({"ok": true}))
            }
            Err(e) => bad(format!("faults: {e}")),
        },
        ("POST", "/_sim/error-style") => match serde_json::from_slice::<ErrorStyle>(body) {
            Ok(style) => {
                *lock(&shared.style) = style;
                reply(StatusCode::OK, &json!({"ok": true}))
            }
            Err(e) => bad(format!("error style: {e}")),
        },
        ("POST", "/_sim/open-mode") => match serde_json::from_slice::<OpenMode>(body) {
            Ok(mode) => {
                shared.sim.set_open_mode(mode);
                reply(StatusCode::OK, &json!({"ok": true}))
            }
            Err(e) => bad(format!("open mode (\"merge\" or \"replace\"): {e}")),
        },
        _ => reply(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("no control endpoint {method} {path}")}),
        ),
    }
}
