//! The Slack front door: `/jit …` typed in a Slack workspace, delivered by a Lambda
//! Function URL, verified, and run as the same commands through the same policy.
//!
//! One concept a file: `request` (the Function URL event as an HTTP request, and the
//! refusals at that level), `verify` (Slack's request signature: the authentication of
//! this entry point), `form` (the slash command's fields), `grammar` (the text after
//! `/jit`, parsed into a command), and this file, which puts them in order.

pub mod grammar;
#[cfg(feature = "slack")]
pub mod form;
#[cfg(feature = "slack")]
pub mod request;
#[cfg(feature = "slack")]
pub mod verify;
