//! The Slack front door: `/jit …` typed in a Slack workspace, delivered by a Lambda
//! Function URL, verified, and run as the same commands through the same policy.
//!
//! One concept a file: `request` (the Function URL event as an HTTP request, and the
//! refusals at that level), `verify` (Slack's request signature: the authentication of
//! this entry point), `form` (the slash command's fields), `grammar` (the text after
//! `/jit`, parsed into a command), `reply` (an outcome as what Slack shows), and this
//! file, which puts them in order.

#[cfg(feature = "slack")]
pub mod form;
pub mod grammar;
pub mod reply;
#[cfg(feature = "slack")]
pub mod request;
#[cfg(feature = "slack")]
pub mod verify;

#[cfg(feature = "slack")]
mod serve;
#[cfg(feature = "slack")]
pub use serve::{BUDGET, DEFERRED_COMMAND, serve};
