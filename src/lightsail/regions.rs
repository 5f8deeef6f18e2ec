//! The Lightsail clients for Regions other than the function's own, each built the first
//! time a command needs it.
//!
//! A client costs a few hundred microseconds of cold start (its configuration, endpoint
//! resolver and retry state, BENCHMARKS.md); a function managing one Region must not pay
//! for others, and one managing many pays for each only when a command first goes there.
//! The home Region's client is the [`crate::service::App`]'s own, built at cold start as
//! before.

use std::sync::OnceLock;

use super::Lightsail;
use crate::region::Region;

type Build<L> = Box<dyn Fn(Region) -> L + Send + Sync>;

pub struct Regions<L> {
    clients: Vec<(Region, OnceLock<L>)>,
    build: Option<Build<L>>,
}

impl<L> Default for Regions<L> {
    /// No other Region.
    fn default() -> Self {
        Regions {
            clients: Vec::new(),
            build: None,
        }
    }
}

impl<L: Lightsail> Regions<L> {
    /// A client for each of `regions`, made by `build` the first time it is asked for.
    pub fn lazy(
        regions: impl IntoIterator<Item = Region>,
        build: impl Fn(Region) -> L + Send + Sync + 'static,
    ) -> Self {
        Regions {
            clients: regions.into_iter().map(|r| (r, OnceLock::new())).collect(),
            build: Some(Box::new(build)),
        }
    }

    /// These clients, already built (tests: one simulator per Region).
    pub fn of(clients: impl IntoIterator<Item = (Region, L)>) -> Self {
        Regions {
            clients: clients
                .into_iter()
                .map(|(region, client)| (region, OnceLock::from(client)))
                .collect(),
            build: None,
        }
    }

    /// The client for `region`, built now if this is its first use; `None` when these
    /// clients do not cover `region`.
    pub fn client(&self, region: Region) -> Option<&L> {
        let (_, slot) = self.clients.iter().find(|(r, _)| *r == region)?;
        match &self.build {
            Some(build) => Some(slot.get_or_init(|| build(region))),
            None => slot.get(),
        }
    }

    /// How many clients exist so far (the cold-start test: none before the first use).
    pub fn built(&self) -> usize {
        self.clients
            .iter()
            .filter(|(_, s)| s.get().is_some())
            .count()
    }
}
