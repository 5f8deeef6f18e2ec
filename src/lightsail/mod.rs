//! The seam between the product and Amazon Lightsail.
//!
//! Everything the function does to the outside world goes through [`Lightsail`]: six
//! calls, in our own types. [`aws`] implements it with aws-sdk-lightsail; [`sim`] is an
//! in-memory Lightsail with the service's semantics, used by tests and by the offline
//! runner. The service code is generic over the trait, so both run the same logic.

#[cfg(feature = "aws")]
pub mod aws;
pub mod regions;
pub mod sim;
pub mod trust;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use crate::firewall::PortRule;
use crate::ledger::Tag;
use crate::policy::InstanceKey;
use crate::region::Region;

pub use regions::Regions;

/// What the function needs to know about an instance.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    /// The Region the instance was read from: the client's own.
    #[serde(default)]
    pub region: Region,
    pub name: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// The public firewall (`networking.ports`).
    #[serde(default)]
    pub ports: Vec<PortRule>,
}

/// An instance is `(region, name)` in every policy lookup.
impl InstanceKey for &Instance {
    fn region(&self, _home: Region) -> Region {
        self.region
    }
    fn name(&self) -> &str {
        &self.name
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub instances: Vec<Instance>,
    pub next_page_token: Option<String>,
}

/// How a failed call should be treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ErrorKind {
    /// The instance does not exist (`NotFoundException`, or Lightsail's `DoesNotExist`).
    NotFound,
    /// The request was invalid; the same request will fail again.
    InvalidInput,
    /// Refused for a reason retrying cannot fix (access denied, unauthenticated…).
    Refused,
    /// Throttling, 5xx, timeouts, dropped connections: worth retrying later.
    Transient,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed: {code}: {message}")]
pub struct LightsailError {
    pub operation: &'static str,
    pub kind: ErrorKind,
    /// The wire error code, e.g. `NotFoundException`, `DoesNotExist`, `ThrottlingException`.
    pub code: String,
    pub message: String,
}

impl LightsailError {
    pub fn new(
        operation: &'static str,
        kind: ErrorKind,
        code: &str,
        message: impl Into<String>,
    ) -> Self {
        LightsailError {
            operation,
            kind,
            code: code.to_string(),
            message: message.into(),
        }
    }

    pub fn is_transient(&self) -> bool {
        self.kind == ErrorKind::Transient
    }
}

impl ErrorKind {
    /// The kind of an error told by its wire code and HTTP status, not by the SDK's typed
    /// variant: Lightsail can answer `"code":"DoesNotExist"`, which the Rust SDK leaves
    /// `Unhandled`.
    pub fn from_wire(code: Option<&str>, status: Option<u16>) -> ErrorKind {
        match code.unwrap_or("") {
            "NotFoundException" | "DoesNotExist" | "NotFound" | "ResourceNotFoundException" => {
                ErrorKind::NotFound
            }
            "InvalidInputException"
            | "InvalidInput"
            | "ValidationException"
            | "InvalidParameterValue"
            | "MissingParameter" => ErrorKind::InvalidInput,
            "AccessDeniedException"
            | "AccessDenied"
            | "UnauthenticatedException"
            | "Unauthenticated"
            | "OperationFailureException"
            | "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "ExpiredTokenException" => ErrorKind::Refused,
            "ServiceException"
            | "ThrottlingException"
            | "Throttling"
            | "ThrottledException"
            | "TooManyRequestsException"
            | "RequestLimitExceeded"
            | "RequestThrottled"
            | "RequestTimeout"
            | "RequestTimeoutException"
            | "ServiceUnavailable"
            | "InternalFailure"
            | "AccountSetupInProgressException"
            | "RegionSetupInProgressException" => ErrorKind::Transient,
            _ => match status {
                Some(429) | Some(500..=599) | None => ErrorKind::Transient,
                Some(_) => ErrorKind::Refused,
            },
        }
    }
}

/// The Lightsail calls the function makes. Implementations must be cheap to share.
pub trait Lightsail: Send + Sync {
    fn get_instance(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Instance, LightsailError>> + Send;

    /// One page of every instance in the Region.
    fn get_instances(
        &self,
        page_token: Option<&str>,
    ) -> impl Future<Output = Result<Page, LightsailError>> + Send;

    /// Additive: merges into the rule of the same protocol and range.
    fn open_instance_public_ports(
        &self,
        name: &str,
        rule: &PortRule,
    ) -> impl Future<Output = Result<(), LightsailError>> + Send;

    /// Replaces the whole firewall; an empty list closes every port.
    fn put_instance_public_ports(
        &self,
        name: &str,
        rules: &[PortRule],
    ) -> impl Future<Output = Result<(), LightsailError>> + Send;

    fn tag_resource(
        &self,
        name: &str,
        tags: &[Tag],
    ) -> impl Future<Output = Result<(), LightsailError>> + Send;

    fn untag_resource(
        &self,
        name: &str,
        keys: &[String],
    ) -> impl Future<Output = Result<(), LightsailError>> + Send;
}

/// A shared reference is as good a client as the value (tests share one simulator
/// between several apps).
impl<L: Lightsail> Lightsail for &L {
    fn get_instance(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Instance, LightsailError>> + Send {
        (**self).get_instance(name)
    }

    fn get_instances(
        &self,
        page_token: Option<&str>,
    ) -> impl Future<Output = Result<Page, LightsailError>> + Send {
        (**self).get_instances(page_token)
    }

    fn open_instance_public_ports(
        &self,
        name: &str,
        rule: &PortRule,
    ) -> impl Future<Output = Result<(), LightsailError>> + Send {
        (**self).open_instance_public_ports(name, rule)
    }

    fn put_instance_public_ports(
        &self,
        name: &str,
        rules: &[PortRule],
    ) -> impl Future<Output = Result<(), LightsailError>> + Send {
        (**self).put_instance_public_ports(name, rules)
    }

    fn tag_resource(
        &self,
        name: &str,
        tags: &[Tag],
    ) -> impl Future<Output = Result<(), LightsailError>> + Send {
        (**self).tag_resource(name, tags)
    }

    fn untag_resource(
        &self,
        name: &str,
        keys: &[String],
    ) -> impl Future<Output = Result<(), LightsailError>> + Send {
        (**self).untag_resource(name, keys)
    }
}

/// Counts the calls one command makes (reported as `apiCalls`): one counter shared by
/// the views of every Region the command goes to.
pub struct Metered<'a, L> {
    inner: &'a L,
    calls: &'a AtomicUsize,
}

impl<'a, L: Lightsail> Metered<'a, L> {
    pub fn new(inner: &'a L, calls: &'a AtomicUsize) -> Self {
        Metered { inner, calls }
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

impl<L: Lightsail> Lightsail for Metered<'_, L> {
    async fn get_instance(&self, name: &str) -> Result<Instance, LightsailError> {
        self.count();
        self.inner.get_instance(name).await
    }

    async fn get_instances(&self, page_token: Option<&str>) -> Result<Page, LightsailError> {
        self.count();
        self.inner.get_instances(page_token).await
    }

    async fn open_instance_public_ports(
        &self,
        name: &str,
        rule: &PortRule,
    ) -> Result<(), LightsailError> {
        self.count();
        self.inner.open_instance_public_ports(name, rule).await
    }

    async fn put_instance_public_ports(
        &self,
        name: &str,
        rules: &[PortRule],
    ) -> Result<(), LightsailError> {
        self.count();
        self.inner.put_instance_public_ports(name, rules).await
    }

    async fn tag_resource(&self, name: &str, tags: &[Tag]) -> Result<(), LightsailError> {
        self.count();
        self.inner.tag_resource(name, tags).await
    }

    async fn untag_resource(&self, name: &str, keys: &[String]) -> Result<(), LightsailError> {
        self.count();
        self.inner.untag_resource(name, keys).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_uses_wire_code_then_status() {
        assert_eq!(
            ErrorKind::from_wire(Some("DoesNotExist"), Some(400)),
            ErrorKind::NotFound
        );
        assert_eq!(
            ErrorKind::from_wire(Some("NotFoundException"), Some(400)),
            ErrorKind::NotFound
        );
        assert_eq!(
            ErrorKind::from_wire(Some("InvalidInputException"), Some(400)),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            ErrorKind::from_wire(Some("AccessDeniedException"), Some(400)),
            ErrorKind::Refused
        );
        assert_eq!(
            ErrorKind::from_wire(Some("ThrottlingException"), Some(400)),
            ErrorKind::Transient
        );
        assert_eq!(
            ErrorKind::from_wire(Some("ServiceException"), Some(500)),
            ErrorKind::Transient
        );
        assert_eq!(
            ErrorKind::from_wire(Some("SomethingNew"), Some(503)),
            ErrorKind::Transient
        );
        assert_eq!(
            ErrorKind::from_wire(Some("SomethingNew"), Some(400)),
            ErrorKind::Refused
        );
        assert_eq!(
            ErrorKind::from_wire(None, None),
            ErrorKind::Transient,
            "no response at all: dispatch failure"
        );
    }
}
