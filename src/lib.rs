//! lightsail-jit: just-in-time network access for Amazon Lightsail instances.
//!
//! A functional core (pure and synchronous) inside an imperative shell (I/O behind the
//! [`lightsail::Lightsail`] trait). The contract and the architecture as built are in
//! `docs/DESIGN.md`; how to run, test and extend it is in `README.md`.
//!
//! # Module map
//!
//! A module imports only modules listed above it: no import runs back up, and the core
//! never imports the shell.
//!
//! | layer | module | concept |
//! |---|---|---|
//! | core | [`clock`] | time as an injected [`clock::Clock`] |
//! | core | [`region`] | Lightsail Regions: an instance is `(region, name)` |
//! | core | [`rejection`] | typed rejections: a stable `code` and a message naming the field |
//! | core | [`firewall`] | ports, sources, Lightsail's `PortInfo`, the canonical rule set and diffs |
//! | core | [`ledger`] | grants and captured baselines encoded as tags within Lightsail's limits |
//! | core | [`command`] | the input language: one file per action, strict parsing |
//! | core | [`strict_json`] | JSON that refuses duplicate keys |
//! | core | [`envelope`] | a Lambda payload (direct, EventBridge, SQS) as deliveries of commands, with their transport's time |
//! | core | [`policy`] | what may be opened: types, loading and validation, decisions, freshness, lockdown windows |
//! | core | [`outcome`] | the JSON a command answers with |
//! | shell | [`audit`] | one structured log line per decision |
//! | core | [`announce`] | the event each decision announces: detail types, details, event ids |
//! | shell | [`events`] | decisions published to EventBridge: the `EventBus` trait, the AWS SDK adapter, the in-memory bus |
//! | shell | [`lightsail`] | the `Lightsail` trait, the AWS SDK adapter, the trust store, the simulator |
//! | shell | [`service`] | the use cases and the reconcile protocol; `App::deliver` (freshness, then the use case) + one error policy |
//! | shell | [`handler`] | the Lambda entry point (feature `lambda`) |
//! | shell | [`local`] | the offline runner behind `jit-local` (feature `lambda`) |
//!
//! `service::reconcile::plan` is pure too; only its `apply` does I/O. The binaries are
//! `src/main.rs` (the function), `src/bin/jit-local.rs` and `src/bin/jit-sim.rs`.

pub mod announce;
pub mod audit;
#[doc(hidden)]
pub mod checks;
pub mod clock;
pub mod command;
pub mod envelope;
pub mod events;
pub mod firewall;
#[cfg(feature = "lambda")]
pub mod handler;
pub mod ledger;
pub mod lightsail;
#[cfg(feature = "lambda")]
pub mod local;
pub mod outcome;
pub mod policy;
pub mod region;
pub mod rejection;
pub mod service;
pub mod slack;
pub mod strict_json;
