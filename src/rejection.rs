//! Typed rejections: why a command was refused, with a stable `code` for bots and a
//! message for people.
//!
//! A rejection is a *successful* outcome (the Lambda returns `Ok`): retrying the same
//! bad command could never help, so it must not be redelivered. Every rejection is
//! decided before the first Lightsail write.

use std::fmt;

use serde::Serialize;

/// Stable machine-readable reasons. The serialised name is the contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
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
    InvalidRequestId,
    InvalidRequester,
    InvalidReason,
    RequesterNotAllowed,
    ReasonRequired,
    LedgerFull,
    GrantTooLarge,
    UnknownGrant,
    GrantExpired,
    /// Lightsail refused a call for a reason retrying cannot fix (e.g. AccessDenied).
    LightsailRefused,
}

impl Code {
    /// Every code, for documentation and coverage checks.
    pub const ALL: [Code; 30] = [
        Code::MalformedJson,
        Code::InvalidEnvelope,
        Code::MissingField,
        Code::UnknownField,
        Code::DuplicateField,
        Code::InvalidField,
        Code::UnknownAction,
        Code::TooManyItems,
        Code::InvalidPort,
        Code::InvalidCidr,
        Code::InvalidAlias,
        Code::SourceTooWide,
        Code::SourceNotAllowed,
        Code::NoSource,
        Code::PortNotAllowed,
        Code::InvalidDuration,
        Code::DurationTooLong,
        Code::InvalidInstanceName,
        Code::InstanceNotManaged,
        Code::InstanceNotFound,
        Code::InvalidRequestId,
        Code::InvalidRequester,
        Code::InvalidReason,
        Code::RequesterNotAllowed,
        Code::ReasonRequired,
        Code::LedgerFull,
        Code::GrantTooLarge,
        Code::UnknownGrant,
        Code::GrantExpired,
        Code::LightsailRefused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::MalformedJson => "MalformedJson",
            Code::InvalidEnvelope => "InvalidEnvelope",
            Code::MissingField => "MissingField",
            Code::UnknownField => "UnknownField",
            Code::DuplicateField => "DuplicateField",
            Code::InvalidField => "InvalidField",
            Code::UnknownAction => "UnknownAction",
            Code::TooManyItems => "TooManyItems",
            Code::InvalidPort => "InvalidPort",
            Code::InvalidCidr => "InvalidCidr",
            Code::InvalidAlias => "InvalidAlias",
            Code::SourceTooWide => "SourceTooWide",
            Code::SourceNotAllowed => "SourceNotAllowed",
            Code::NoSource => "NoSource",
            Code::PortNotAllowed => "PortNotAllowed",
            Code::InvalidDuration => "InvalidDuration",
            Code::DurationTooLong => "DurationTooLong",
            Code::InvalidInstanceName => "InvalidInstanceName",
            Code::InstanceNotManaged => "InstanceNotManaged",
            Code::InstanceNotFound => "InstanceNotFound",
            Code::InvalidRequestId => "InvalidRequestId",
            Code::InvalidRequester => "InvalidRequester",
            Code::InvalidReason => "InvalidReason",
            Code::RequesterNotAllowed => "RequesterNotAllowed",
            Code::ReasonRequired => "ReasonRequired",
            Code::LedgerFull => "LedgerFull",
            Code::GrantTooLarge => "GrantTooLarge",
            Code::UnknownGrant => "UnknownGrant",
            Code::GrantExpired => "GrantExpired",
            Code::LightsailRefused => "LightsailRefused",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
