//! Typed rejections: why a command was refused, with a stable `code` for bots and a
//! message for people.
//!
//! A rejection is a *successful* outcome (the Lambda returns `Ok`): retrying the same
//! bad command could never help, so it must not be redelivered. Every rejection is
//! decided before the first Lightsail write.

use serde::Serialize;
use serde_json::Value;

/// Stable machine-readable reasons. The serialised name (the variant's name, derived
/// alike by serde and strum) is the contract.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantArray,
)]
pub enum Code {
    /// The payload or an SQS body is not JSON.
    MalformedJson,
    /// The payload is JSON but not a command or a known event envelope.
    InvalidEnvelope,
    MissingField,
    UnknownField,
    /// An object names the same key twice (readers disagree on which one counts).
    DuplicateField,
    /// A field has the wrong JSON type or shape.
    InvalidField,
    UnknownAction,
    TooManyItems,
    InvalidPort,
    InvalidCidr,
    InvalidAlias,
    SourceTooWide,
    SourceNotAllowed,
    NoSource,
    PortNotAllowed,
    InvalidDuration,
    DurationTooLong,
    InvalidInstanceName,
    InstanceNotManaged,
    InstanceNotFound,
    /// The command's `region` is not one of the policy's `regions` (or not a Lightsail
    /// Region at all): this function does not manage instances there.
    RegionNotManaged,
    InvalidRequestId,
    InvalidRequester,
    InvalidReason,
    RequesterNotAllowed,
    ReasonRequired,
    LedgerFull,
    GrantTooLarge,
    UnknownGrant,
    GrantExpired,
    /// A `grant` or `extend` older than the policy's `maxCommandAge`, counted from its
    /// `issuedAt` (else the transport's timestamp): a redriven or long-retried command
    /// is not a request for access now, so it must not open a port.
    CommandExpired,
    /// A lockdown window is in force on the instance: no new access until it ends.
    LockedDown,
    /// Lightsail refused a call for a reason retrying cannot fix (e.g. AccessDenied).
    LightsailRefused,
    /// `replyTo` is not a JSON object within 1 KB and 8 levels.
    InvalidReplyTo,
}

impl Code {
    /// Every code, for documentation and coverage checks.
    pub const ALL: &'static [Code] = <Code as strum::VariantArray>::VARIANTS;

    /// The wire name: the variant's name, as serde writes it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A refused command: the code and a message that names the field and the limit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Rejection {
    pub code: Code,
    pub message: String,
}

impl Rejection {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Rejection {
            code,
            message: message.into(),
        }
    }

    pub fn missing(field: &str) -> Self {
        Rejection::new(Code::MissingField, format!("`{field}` is required"))
    }

    pub fn invalid(field: &str, expected: &str) -> Self {
        Rejection::new(Code::InvalidField, format!("`{field}` must be {expected}"))
    }
}

/// How a JSON value is named in a message: "a string", "an object"…
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
