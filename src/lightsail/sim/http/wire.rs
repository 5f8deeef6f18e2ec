//! The wire codec: Lightsail's AWS JSON 1.1 as the real service speaks it, in both
//! directions, and nothing else — no state, no routing, no faults. (Which service a
//! request is for is told here too, from its headers; EventBridge's own members are
//! in `events`.)
//!
//! Requests are decoded leniently, as the service does (the SDK validates nothing, so
//! a missing member must come back as `InvalidInputException`, not a crash), and
//! answers are encoded with the members the SDK's deserializers expect: instances,
//! operations (already terminal, as Lightsail's Open and Put answer), and errors in
//! either [`ErrorStyle`].

use std::time::{SystemTime, UNIX_EPOCH};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{HeaderMap, Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::firewall::{PortRule, Protocol};
use crate::lightsail::{ErrorKind, Instance, LightsailError};

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

pub(super) type Reply = Response<Full<Bytes>>;

/// Which service a request is for, told by its `X-Amz-Target` prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Api {
    /// `Lightsail_20161128.*`, and any target that is no one's (answered as Lightsail).
    Lightsail,
    /// `AWSEvents.*` (EventBridge).
    EventBridge,
}

impl Api {
    /// The service name SigV4 must carry in the credential scope.
    fn signing_name(self) -> &'static str {
        match self {
            Api::Lightsail => "lightsail",
            Api::EventBridge => "events",
        }
    }
}

/// What the headers say about a request: which service and operation, and who signed it.
pub(super) struct Envelope {
    pub api: Api,
    /// Empty when `X-Amz-Target` is missing or names neither service.
    pub operation: String,
    /// Signed with SigV4 for this request's service.
    pub signed: bool,
    /// The SigV4 credential scope (empty when unsigned).
    pub credential: String,
}

pub(super) fn envelope(headers: &HeaderMap) -> Envelope {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let target = header("x-amz-target");
    let (api, operation) = match target.strip_prefix(super::events::TARGET_PREFIX) {
        Some(operation) => (Api::EventBridge, operation),
        None => (
            Api::Lightsail,
            target.strip_prefix(TARGET_PREFIX).unwrap_or(""),
        ),
    };
    let authorization = header("authorization");
    let scope = format!("/{}/aws4_request", api.signing_name());
    let signed = authorization.starts_with("AWS4-HMAC-SHA256 ")
        && authorization.contains(&scope)
        && authorization.contains("Signature=");
    let credential = authorization
        .split_once("Credential=")
        .map(|(_, rest)| rest.split(',').next().unwrap_or("").trim().to_string())
        .unwrap_or_default();
    Envelope {
        api,
        operation: operation.to_string(),
        signed,
        credential,
    }
}

/// The Region of a SigV4 credential scope `<key>/<date>/<region>/<service>/aws4_request`
/// (empty when there is none).
pub(super) fn credential_region(credential: &str) -> &str {
    credential.split('/').nth(2).unwrap_or("")
}

/// The request body as JSON; anything unreadable is `null` (every member then missing).
pub(super) fn request_json(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

/// Every PortInfo in the request carries all three source lists explicitly.
pub(super) fn explicit_sources(request: &Value) -> bool {
    port_infos(request).iter().all(|p| {
        ["cidrs", "ipv6Cidrs", "cidrListAliases"]
            .iter()
            .all(|k| p.get(k).is_some_and(Value::is_array))
    })
}

fn port_infos(request: &Value) -> Vec<&Value> {
    let mut out: Vec<&Value> = request.get("portInfo").into_iter().collect();
    if let Some(list) = request.get("portInfos").and_then(Value::as_array) {
        out.extend(list);
    }
    out
}

pub(super) fn reply(status: StatusCode, body: &Value) -> Reply {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    response
}

pub(super) fn unknown_operation() -> Reply {
    reply(
        StatusCode::NOT_FOUND,
        &json!({"__type": "UnknownOperationException"}),
    )
}

pub(super) fn missing_authentication() -> Reply {
    reply(
        StatusCode::FORBIDDEN,
        &json!({"__type": "MissingAuthenticationTokenException", "message": "Missing Authentication Token"}),
    )
}

pub(super) fn throttled() -> Reply {
    reply(
        StatusCode::BAD_REQUEST,
        &json!({"__type": "ThrottlingException", "message": "Rate exceeded"}),
    )
}

pub(super) fn error_reply(style: ErrorStyle, err: &LightsailError) -> Reply {
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

pub(super) fn invalid(message: impl Into<String>) -> LightsailError {
    LightsailError::new(
        "sim",
        ErrorKind::InvalidInput,
        "InvalidInputException",
        message,
    )
}

/// A required string member, or `InvalidInputException` naming it.
pub(super) fn string<'a>(request: &'a Value, field: &str) -> Result<&'a str, LightsailError> {
    request
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("{field} is required")))
}

/// A required member decoded as `T`, or `InvalidInputException` naming it.
pub(super) fn decoded<T: serde::de::DeserializeOwned>(
    request: &Value,
    field: &str,
) -> Result<T, LightsailError> {
    request
        .get(field)
        .cloned()
        .and_then(|value| serde_json::from_value(value).ok())
        .ok_or_else(|| invalid(format!("{field} is required")))
}

/// A required member that must be present, whatever its shape.
pub(super) fn member<'a>(request: &'a Value, field: &str) -> Result<&'a Value, LightsailError> {
    request
        .get(field)
        .ok_or_else(|| invalid(format!("{field} is required")))
}

/// A required list member, or `InvalidInputException` naming it.
pub(super) fn list<'a>(request: &'a Value, field: &str) -> Result<&'a Vec<Value>, LightsailError> {
    request
        .get(field)
        .and_then(Value::as_array)
        .ok_or_else(|| invalid(format!("{field} is required")))
}

pub(super) fn port_rule(info: &Value) -> Result<PortRule, LightsailError> {
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

/// A finished Operation, as Lightsail answers Open, Put, Tag and Untag.
pub(super) fn operation_json(resource: &str, operation: &str, details: &str) -> Value {
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

pub(super) fn instance_json(instance: &Instance) -> Value {
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
