//! The simulator served over HTTP: Lightsail's AWS JSON 1.1 wire protocol on loopback,
//! so the real aws-sdk-lightsail client (SigV4, retries, JSON codecs) can be tested
//! against the same [`Sim`](super::Sim) semantics the in-memory tests use — one
//! implementation of Lightsail, two fronts.
//!
//! * `POST /` with `X-Amz-Target: Lightsail_20161128.<Operation>`; requests without a
//!   SigV4 `Authorization` header for the `lightsail` service are refused (403).
//! * Errors as the service encodes them: `{"__type": "NotFoundException", "message"}`
//!   (plain) or with the modeled `code` member as Lightsail fills it
//!   (`"code": "DoesNotExist"`), which the Rust SDK reads *before* `__type`.
//! * Wire faults for tests: throttling (400 `ThrottlingException`), 500
//!   `ServiceException`, added latency, dropped connections; per operation, for N calls
//!   or with a seeded probability.
//! * EventBridge too, on the same port: `X-Amz-Target: AWSEvents.PutEvents`, signed for
//!   the `events` service, answered by an [`EventsSim`](crate::events::sim::EventsSim)
//!   the server owns (so one `AWS_ENDPOINT_URL` serves the function's two clients);
//!   wire faults name it as `"operation": "PutEvents"`.
//! * Several Regions on one port: each Lightsail request is answered by the simulator
//!   of the Region its SigV4 credential scope names (`SimServer::start_with_regions`;
//!   `jit-sim`'s fixture `"regions"`), the home one otherwise; the request log records
//!   the Region.
//! * A control plane for scripts under `/_sim/` (no auth): `GET /_sim/instances`,
//!   `GET /_sim/regions/<region>/instances`, `GET /_sim/events`, `GET /_sim/requests`,
//!   `POST /_sim/faults`, `POST /_sim/error-style`, `POST /_sim/open-mode`.
//!
//! Each concern has its own file so a change to one cannot hide in another: `server`
//! listens and routes, `wire` is the Lightsail JSON codec, `events` the EventBridge one,
//! `faults` picks what strikes, and `control` is the `/_sim/` plane. The public names
//! are re-exported here, where `jit-sim` and the tests have always found them.

mod control;
mod events;
mod faults;
mod server;
mod wire;

pub use faults::{FaultKind, WireFault};
pub use server::{SimServer, WireRequest};
pub use wire::ErrorStyle;
