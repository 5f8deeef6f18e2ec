//! The server: a loopback listener, one hyper service per connection, and the route
//! each request takes — control plane, refusal, injected fault, or the [`Sim`] itself
//! (or, for `AWSEvents.*` targets, the [`EventsSim`] the server also owns).
//!
//! Every API request is logged the moment it arrives (a client that gives up during
//! injected latency still counts), then answered through the same [`Lightsail`] trait
//! the in-memory tests call, so the HTTP front adds a codec and faults but no second
//! copy of the service's rules.
//!
//! **Regions.** Lightsail is regional: one endpoint per Region, instance names unique
//! only within one. The server holds one [`Sim`] per Region it serves and routes each
//! Lightsail request by the Region its SigV4 credential scope was signed for, so a
//! client of another Region sees another world even at the same URL. A request signed
//! for a Region not served is answered by the home Region's simulator (the only one,
//! unless [`SimServer::start_with_regions`] adds others), as before Regions existed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::control;
use super::events;
use super::faults::{FaultKind, WireFault, striking};
use super::wire::{self, Api, ErrorStyle, Reply};
use crate::events::sim::EventsSim;
use crate::ledger::Tag;
use crate::lightsail::sim::Sim;
use crate::lightsail::{ErrorKind, Lightsail, LightsailError};

/// One request as the server saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireRequest {
    pub operation: String,
    pub signed: bool,
    /// The SigV4 credential scope, `<access key id>/<date>/<region>/<service>/aws4_request`
    /// (`lightsail`, or `events` for PutEvents; empty when unsigned): which keys, region
    /// and service the client signed for.
    pub credential: String,
    /// The Region of the credential scope (empty when unsigned): which simulator answered.
    pub region: String,
    /// Every PortInfo carried all three source lists explicitly.
    pub explicit_sources: bool,
    /// 0 when no answer was sent (dropped, or the client gave up first).
    pub status: u16,
}

/// What every connection shares: the simulators and the knobs tests turn.
pub(super) struct Shared {
    /// The home Region's simulator: every request not signed for one of `regions`.
    pub sim: Sim,
    /// The other Regions' simulators, by Region name.
    pub regions: BTreeMap<String, Sim>,
    pub events: EventsSim,
    pub faults: Mutex<Vec<WireFault>>,
    pub rng: Mutex<fastrand::Rng>,
    pub style: Mutex<ErrorStyle>,
    pub requests: Mutex<Vec<WireRequest>>,
}

impl Shared {
    /// The simulator that answers a request signed for `region`.
    pub fn serving(&self, region: &str) -> &Sim {
        self.regions.get(region).unwrap_or(&self.sim)
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running server; it stops when dropped.
pub struct SimServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
}

impl Drop for SimServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

#[derive(Debug, thiserror::Error)]
#[error("connection dropped by an injected fault")]
struct Dropped;

impl SimServer {
    /// Serve `sim` on `addr` (use port 0 for any free port), with an empty event bus.
    pub async fn start(sim: Sim, addr: SocketAddr) -> std::io::Result<SimServer> {
        SimServer::start_with_regions(sim, BTreeMap::new(), addr).await
    }

    /// Serve `home` and, for requests signed for one of `regions`, that Region's
    /// simulator.
    pub async fn start_with_regions(
        home: Sim,
        regions: BTreeMap<String, Sim>,
        addr: SocketAddr,
    ) -> std::io::Result<SimServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            sim: home,
            regions,
            events: EventsSim::new(),
            faults: Mutex::new(Vec::new()),
            rng: Mutex::new(fastrand::Rng::with_seed(7)),
            style: Mutex::new(ErrorStyle::Plain),
            requests: Mutex::new(Vec::new()),
        });
        let (stop, mut stopped) = watch::channel(false);
        let serving = shared.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let shared = serving.clone();
                        tokio::spawn(async move {
                            let service = service_fn(move |req| handle(shared.clone(), req));
                            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                        });
                    }
                    _ = stopped.changed() => break,
                }
            }
        });
        Ok(SimServer { addr, shared, stop })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoint URL to give the SDK (`AWS_ENDPOINT_URL_LIGHTSAIL`, and
    /// `AWS_ENDPOINT_URL_EVENTBRIDGE` for PutEvents).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn sim(&self) -> &Sim {
        &self.shared.sim
    }

    /// The simulator of `region`, when the server serves it besides the home Region.
    pub fn region(&self, region: &str) -> Option<&Sim> {
        self.shared.regions.get(region)
    }

    /// The event bus behind `AWSEvents.PutEvents` (also `GET /_sim/events`).
    pub fn events(&self) -> &EventsSim {
        &self.shared.events
    }

    pub fn inject(&self, fault: WireFault) {
        lock(&self.shared.faults).push(fault);
    }

    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    pub fn seed(&self, seed: u64) {
        *lock(&self.shared.rng) = fastrand::Rng::with_seed(seed);
    }

    pub fn set_error_style(&self, style: ErrorStyle) {
        *lock(&self.shared.style) = style;
    }

    pub fn requests(&self) -> Vec<WireRequest> {
        lock(&self.shared.requests).clone()
    }
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Reply, Dropped> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Err(Dropped),
    };
    if parts.uri.path().starts_with("/_sim/") {
        return Ok(control::respond(
            &shared,
            &parts.method,
            parts.uri.path(),
            &body,
        ));
    }
    let envelope = wire::envelope(&parts.headers);
    let request = wire::request_json(&body);
    let region = wire::credential_region(&envelope.credential).to_string();

    // Logged on arrival: a client that times out during injected latency still counts.
    let index = {
        let mut requests = lock(&shared.requests);
        requests.push(WireRequest {
            operation: envelope.operation.clone(),
            signed: envelope.signed,
            credential: envelope.credential,
            region: region.clone(),
            explicit_sources: wire::explicit_sources(&request),
            status: 0,
        });
        requests.len() - 1
    };
    let (latency, strike) = {
        let mut faults = lock(&shared.faults);
        let mut rng = lock(&shared.rng);
        striking(&mut faults, &mut rng, &envelope.operation)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let style = *lock(&shared.style);
    let response = if parts.method != Method::POST || parts.uri.path() != "/" {
        Ok(wire::unknown_operation())
    } else if !envelope.signed {
        Ok(wire::missing_authentication())
    } else {
        match (envelope.api, strike) {
            (_, Some(FaultKind::Drop)) => Err(Dropped),
            (_, Some(FaultKind::Throttle)) => Ok(wire::throttled()),
            (Api::EventBridge, Some(FaultKind::ServerError)) => Ok(events::internal_error()),
            (Api::EventBridge, _) => {
                Ok(events::respond(&shared.events, &envelope.operation, &request).await)
            }
            (Api::Lightsail, Some(FaultKind::ServerError)) => Ok(wire::error_reply(
                style,
                &LightsailError::new(
                    "sim",
                    ErrorKind::Transient,
                    "ServiceException",
                    "injected server error",
                ),
            )),
            (Api::Lightsail, _) => Ok(
                match dispatch(shared.serving(&region), &envelope.operation, &request).await {
                    Ok(body) => wire::reply(StatusCode::OK, &body),
                    Err(err) => wire::error_reply(style, &err),
                },
            ),
        }
    };
    if let (Some(logged), Ok(r)) = (lock(&shared.requests).get_mut(index), response.as_ref()) {
        logged.status = r.status().as_u16();
    }
    response
}

/// One Lightsail operation: its members decoded, the [`Sim`] called, the answer encoded.
async fn dispatch(sim: &Sim, operation: &str, request: &Value) -> Result<Value, LightsailError> {
    match operation {
        "GetInstance" => {
            let instance = sim
                .get_instance(wire::string(request, "instanceName")?)
                .await?;
            Ok(json!({"instance": wire::instance_json(&instance)}))
        }
        "GetInstances" => {
            let page = sim
                .get_instances(request.get("pageToken").and_then(Value::as_str))
                .await?;
            let instances: Vec<Value> = page.instances.iter().map(wire::instance_json).collect();
            let mut body = json!({ "instances": instances });
            if let Some(token) = page.next_page_token {
                body["nextPageToken"] = json!(token);
            }
            Ok(body)
        }
        "OpenInstancePublicPorts" => {
            let name = wire::string(request, "instanceName")?;
            let rule = wire::port_rule(wire::member(request, "portInfo")?)?;
            sim.open_instance_public_ports(name, &rule).await?;
            let details = rule.range().to_string();
            Ok(json!({"operation": wire::operation_json(name, operation, &details)}))
        }
        "PutInstancePublicPorts" => {
            let name = wire::string(request, "instanceName")?;
            let rules = wire::list(request, "portInfos")?
                .iter()
                .map(wire::port_rule)
                .collect::<Result<Vec<_>, _>>()?;
            sim.put_instance_public_ports(name, &rules).await?;
            Ok(json!({"operation": wire::operation_json(name, operation, "")}))
        }
        "TagResource" => {
            let name = wire::string(request, "resourceName")?;
            let tags: Vec<Tag> = wire::decoded(request, "tags")?;
            sim.tag_resource(name, &tags).await?;
            Ok(json!({"operations": [wire::operation_json(name, operation, "")]}))
        }
        "UntagResource" => {
            let name = wire::string(request, "resourceName")?;
            let keys: Vec<String> = wire::decoded(request, "tagKeys")?;
            sim.untag_resource(name, &keys).await?;
            Ok(json!({"operations": [wire::operation_json(name, operation, "")]}))
        }
        other => Err(wire::invalid(format!(
            "operation {other:?} is not simulated"
        ))),
    }
}
