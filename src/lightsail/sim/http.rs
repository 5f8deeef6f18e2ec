//! The simulator served over HTTP: Lightsail's AWS JSON 1.1 wire protocol on loopback,
//! so the real aws-sdk-lightsail client (SigV4, retries, JSON codecs) can be tested
//! against the same [`Sim`] semantics the in-memory tests use — one implementation of
//! Lightsail, two fronts.
//!
//! * `POST /` with `X-Amz-Target: Lightsail_20161128.<Operation>`; requests without a
//!   SigV4 `Authorization` header for the `lightsail` service are refused (403).
//! * Errors as the service encodes them: `{"__type": "NotFoundException", "message"}`
//!   (plain) or with the modeled `code` member as Lightsail fills it
//!   (`"code": "DoesNotExist"`), which the Rust SDK reads *before* `__type`.
//! * Wire faults for tests: throttling (400 `ThrottlingException`), 500
//!   `ServiceException`, added latency, dropped connections; per operation, for N calls
//!   or with a seeded probability.
//! * A control plane for scripts under `/_sim/` (no auth): `GET /_sim/instances`,
//!   `GET /_sim/requests`, `POST /_sim/faults`, `POST /_sim/error-style`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::Sim;
use crate::firewall::{PortRule, Protocol};
use crate::ledger::Tag;
use crate::lightsail::{ErrorKind, Instance, Lightsail, LightsailError};

const TARGET_PREFIX: &str = "Lightsail_20161128.";

/// How errors carry their code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ErrorStyle {
    /// `{"__type": "NotFoundException", "message": …}`
    Plain,
    /// Also the modeled members, with Lightsail's own codes: `"code": "DoesNotExist"`.
    Lightsail,
}

/// What an injected wire fault does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum FaultKind {
    /// 400 `ThrottlingException`.
    Throttle,
    /// 500 `ServiceException`.
    ServerError,
    /// Answer normally, this much later.
    Latency { millis: u64 },
    /// Close the connection without an answer.
    Drop,
}

/// A wire fault: which operation (all when absent), what, and how often.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireFault {
    #[serde(default)]
    pub operation: Option<String>,
    pub kind: FaultKind,
    /// Strike this many times, then stop. Absent: no limit.
    #[serde(default)]
    pub times: Option<usize>,
    /// Strike with this probability (seeded, so runs repeat). Absent: always.
    #[serde(default)]
    pub probability: Option<f64>,
}

impl WireFault {
    pub fn new(operation: &str, kind: FaultKind) -> Self {
        WireFault {
            operation: Some(operation.to_string()),
            kind,
            times: None,
            probability: None,
        }
    }

    pub fn times(mut self, n: usize) -> Self {
        self.times = Some(n);
        self
    }

    pub fn probability(mut self, p: f64) -> Self {
        self.probability = Some(p);
        self
    }
}

/// One request as the server saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireRequest {
    pub operation: String,
    pub signed: bool,
    /// The SigV4 credential scope, `<access key id>/<date>/<region>/lightsail/aws4_request`
    /// (empty when unsigned): which keys and region the client used.
    pub credential: String,
    /// Every PortInfo carried all three source lists explicitly.
    pub explicit_sources: bool,
    /// 0 when no answer was sent (dropped, or the client gave up first).
    pub status: u16,
}

struct Shared {
    sim: Sim,
    faults: Mutex<Vec<WireFault>>,
    rng: Mutex<fastrand::Rng>,
    style: Mutex<ErrorStyle>,
    requests: Mutex<Vec<WireRequest>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
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
    /// Serve `sim` on `addr` (use port 0 for any free port).
    pub async fn start(sim: Sim, addr: SocketAddr) -> std::io::Result<SimServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            sim,
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

    /// The endpoint URL to give the SDK (`AWS_ENDPOINT_URL_LIGHTSAIL`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn sim(&self) -> &Sim {
        &self.shared.sim
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

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, body: &Value) -> Reply {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    response
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Reply, Dropped> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Err(Dropped),
    };
    if parts.uri.path().starts_with("/_sim/") {
        return Ok(control(&shared, &parts.method, parts.uri.path(), &body));
    }
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let operation = header("x-amz-target")
        .strip_prefix(TARGET_PREFIX)
        .unwrap_or("")
        .to_string();
    let authorization = header("authorization");
    let signed = authorization.starts_with("AWS4-HMAC-SHA256 ")
        && authorization.contains("/lightsail/aws4_request")
        && authorization.contains("Signature=");
    let credential = authorization
        .split_once("Credential=")
        .map(|(_, rest)| rest.split(',').next().unwrap_or("").trim().to_string())
        .unwrap_or_default();
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let explicit_sources = port_infos(&request).iter().all(|p| {
        ["cidrs", "ipv6Cidrs", "cidrListAliases"]
            .iter()
            .all(|k| p.get(k).is_some_and(Value::is_array))
    });

    // Logged on arrival: a client that times out during injected latency still counts.
    let index = {
        let mut requests = lock(&shared.requests);
        requests.push(WireRequest {
            operation: operation.clone(),
            signed,
            credential,
            explicit_sources,
            status: 0,
        });
        requests.len() - 1
    };
    let (latency, strike) = faults_for(&shared, &operation);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let style = *lock(&shared.style);
    let response = if parts.method != Method::POST || parts.uri.path() != "/" {
        Ok(reply(
            StatusCode::NOT_FOUND,
            &json!({"__type": "UnknownOperationException"}),
        ))
    } else if !signed {
        Ok(reply(
            StatusCode::FORBIDDEN,
            &json!({"__type": "MissingAuthenticationTokenException", "message": "Missing Authentication Token"}),
        ))
    } else {
        match strike {
            Some(FaultKind::Drop) => Err(Dropped),
            Some(FaultKind::Throttle) => Ok(reply(
                StatusCode::BAD_REQUEST,
                &json!({"__type": "ThrottlingException", "message": "Rate exceeded"}),
            )),
            Some(FaultKind::ServerError) => Ok(error_reply(
                style,
                &LightsailError::new(
                    "sim",
                    ErrorKind::Transient,
                    "ServiceException",
                    "injected server error",
                ),
            )),
            _ => Ok(match dispatch(&shared.sim, &operation, &request).await {
                Ok(body) => reply(StatusCode::OK, &body),
                Err(err) => error_reply(style, &err),
            }),
        }
    };
    if let (Some(logged), Ok(r)) = (lock(&shared.requests).get_mut(index), response.as_ref()) {
        logged.status = r.status().as_u16();
    }
    response
}

/// Total latency to add, and the first non-latency fault that strikes.
fn faults_for(shared: &Shared, operation: &str) -> (Duration, Option<FaultKind>) {
    let mut faults = lock(&shared.faults);
    let mut rng = lock(&shared.rng);
    let mut latency = Duration::ZERO;
    let mut strike = None;
    for fault in faults.iter_mut() {
        if fault.operation.as_deref().is_some_and(|op| op != operation) || fault.times == Some(0) {
            continue;
        }
        if let FaultKind::Latency { .. } = fault.kind {
        } else if strike.is_some() {
            continue;
        }
        if fault.probability.is_some_and(|p| rng.f64() >= p) {
            continue;
        }
        if let Some(n) = fault.times.as_mut() {
            *n -= 1;
        }
        match &fault.kind {
            FaultKind::Latency { millis } => latency += Duration::from_millis(*millis),
            other => strike = Some(other.clone()),
        }
    }
    (latency, strike)
}

fn port_infos(request: &Value) -> Vec<&Value> {
    let mut out: Vec<&Value> = request.get("portInfo").into_iter().collect();
    if let Some(list) = request.get("portInfos").and_then(Value::as_array) {
        out.extend(list);
    }
    out
}

fn error_reply(style: ErrorStyle, err: &LightsailError) -> Reply {
    let (status, shape, lightsail_code) = match err.kind {
        ErrorKind::NotFound => (StatusCode::BAD_REQUEST, "NotFoundException", "DoesNotExist"),
        ErrorKind::InvalidInput => (
            StatusCode::BAD_REQUEST,
            "InvalidInputException",
            "InvalidInput",
        ),
        ErrorKind::Refused => (
            StatusCode::BAD_REQUEST,
            "AccessDeniedException",
            "AccessDenied",
        ),
        ErrorKind::Transient => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceException",
            "InternalFailure",
        ),
    };
    let mut body = json!({"__type": shape, "message": err.message});
    if style == ErrorStyle::Lightsail {
        body["code"] = json!(lightsail_code);
        body["docs"] = json!("https://docs.aws.amazon.com/lightsail/");
        body["tip"] = json!("simulated by lightsail-jit");
    }
    reply(status, &body)
}

fn invalid(message: impl Into<String>) -> LightsailError {
    LightsailError::new(
        "sim",
        ErrorKind::InvalidInput,
        "InvalidInputException",
        message,
    )
}

fn string<'a>(request: &'a Value, field: &str) -> Result<&'a str, LightsailError> {
    request
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("{field} is required")))
}

/// A required member decoded as `T`, or `InvalidInputException` naming it.
fn decoded<T: serde::de::DeserializeOwned>(
    request: &Value,
    field: &str,
) -> Result<T, LightsailError> {
    request
        .get(field)
        .cloned()
        .and_then(|value| serde_json::from_value(value).ok())
        .ok_or_else(|| invalid(format!("{field} is required")))
}

fn port_rule(info: &Value) -> Result<PortRule, LightsailError> {
    let text = info.get("protocol").and_then(Value::as_str).unwrap_or("");
    let protocol: Protocol = text.parse().map_err(invalid)?;
    let number = |k: &str| info.get(k).and_then(Value::as_i64).unwrap_or(0) as i32;
    let list = |k: &str| -> Vec<String> {
        info.get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(PortRule {
        protocol,
        from_port: number("fromPort"),
        to_port: number("toPort"),
        cidrs: list("cidrs"),
        ipv6_cidrs: list("ipv6Cidrs"),
        cidr_list_aliases: list("cidrListAliases"),
    })
}

async fn dispatch(sim: &Sim, operation: &str, request: &Value) -> Result<Value, LightsailError> {
    match operation {
        "GetInstance" => {
            let instance = sim.get_instance(string(request, "instanceName")?).await?;
            Ok(json!({"instance": instance_json(&instance)}))
        }
        "GetInstances" => {
            let page = sim
                .get_instances(request.get("pageToken").and_then(Value::as_str))
                .await?;
            let mut body =
                json!({"instances": page.instances.iter().map(instance_json).collect::<Vec<_>>()});
            if let Some(token) = page.next_page_token {
                body["nextPageToken"] = json!(token);
            }
            Ok(body)
        }
        "OpenInstancePublicPorts" => {
            let name = string(request, "instanceName")?;
            let info = request
                .get("portInfo")
                .ok_or_else(|| invalid("portInfo is required"))?;
            let rule = port_rule(info)?;
            sim.open_instance_public_ports(name, &rule).await?;
            Ok(json!({"operation": operation_json(name, operation, &rule.range().to_string())}))
        }
        "PutInstancePublicPorts" => {
            let name = string(request, "instanceName")?;
            let infos = request
                .get("portInfos")
                .and_then(Value::as_array)
                .ok_or_else(|| invalid("portInfos is required"))?;
            let rules = infos.iter().map(port_rule).collect::<Result<Vec<_>, _>>()?;
            sim.put_instance_public_ports(name, &rules).await?;
            Ok(json!({"operation": operation_json(name, operation, "")}))
        }
        "TagResource" => {
            let name = string(request, "resourceName")?;
            let tags: Vec<Tag> = decoded(request, "tags")?;
            sim.tag_resource(name, &tags).await?;
            Ok(json!({"operations": [operation_json(name, operation, "")]}))
        }
        "UntagResource" => {
            let name = string(request, "resourceName")?;
            let keys: Vec<String> = decoded(request, "tagKeys")?;
            sim.untag_resource(name, &keys).await?;
            Ok(json!({"operations": [operation_json(name, operation, "")]}))
        }
        other => Err(invalid(format!("operation {other:?} is not simulated"))),
    }
}

fn epoch_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A stable fake id derived from a name (FNV-1a), shaped like a UUID.
fn fake_id(name: &str) -> String {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let hex = format!("{hash:016x}{:016x}", hash.rotate_left(29));
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn operation_json(resource: &str, operation: &str, details: &str) -> Value {
    json!({
        "id": fake_id(&format!("{resource}{operation}{}", epoch_now())),
        "resourceName": resource,
        "resourceType": "Instance",
        "createdAt": epoch_now(),
        "location": {"availabilityZone": "all", "regionName": "us-east-1"},
        "isTerminal": true,
        "operationDetails": details,
        "operationType": operation,
        "status": "Succeeded",
        "statusChangedAt": epoch_now(),
    })
}

fn instance_json(instance: &Instance) -> Value {
    let ports: Vec<Value> = instance
        .ports
        .iter()
        .map(|p| {
            let anywhere = p.cidrs.iter().any(|c| c == "0.0.0.0/0");
            json!({
                "fromPort": p.from_port, "toPort": p.to_port, "protocol": p.protocol.as_str(),
                "accessFrom": if anywhere { "Anywhere (0.0.0.0/0)" } else { "Custom" },
                "accessType": "public", "commonName": "", "accessDirection": "inbound",
                "cidrs": p.cidrs, "ipv6Cidrs": p.ipv6_cidrs, "cidrListAliases": p.cidr_list_aliases,
            })
        })
        .collect();
    json!({
        "name": instance.name,
        "arn": format!("arn:aws:lightsail:us-east-1:123456789012:Instance/{}", fake_id(&instance.name)),
        "supportCode": "123456789012/i-0sim",
        "createdAt": 1_790_000_000.5,
        "location": {"availabilityZone": "us-east-1a", "regionName": "us-east-1"},
        "resourceType": "Instance",
        "tags": instance.tags,
        "blueprintId": "ubuntu_24_04",
        "bundleId": "nano_3_0",
        "isStaticIp": false,
        "ipAddressType": "dualstack",
        "networking": {"monthlyTransfer": {"gbPerMonthAllocated": 1024}, "ports": ports},
        "state": {"code": 16, "name": "running"},
        "username": "ubuntu",
    })
}

fn control(shared: &Shared, method: &Method, path: &str, body: &[u8]) -> Reply {
    let bad = |why: String| reply(StatusCode::BAD_REQUEST, &json!({"error": why}));
    match (method.as_str(), path) {
        ("GET", "/_sim/instances") => reply(StatusCode::OK, &json!(shared.sim.instances())),
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
        _ => reply(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("no control endpoint {method} {path}")}),
        ),
    }
}
