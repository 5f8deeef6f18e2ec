//! lightsail-jit: just-in-time network access for Amazon Lightsail instances.
//!
//! A functional core (command parsing, policy, rule math, the tag ledger: pure and
//! synchronous) inside an imperative shell (the service use cases over the
//! [`lightsail::Lightsail`] trait, and the Lambda handler). See DESIGN.md for the
//! contract and README.md for how to run it.

pub mod audit;
#[doc(hidden)]
pub mod checks;
pub mod clock;
pub mod command;
pub mod envelope;
pub mod firewall;
#[cfg(feature = "lambda")]
pub mod handler;
pub mod ledger;
pub mod lightsail;
#[cfg(feature = "lambda")]
pub mod local;
pub mod outcome;
pub mod policy;
pub mod rejection;
pub mod service;
pub mod strict_json;
