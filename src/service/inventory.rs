//! The instances a sweep, lockdown or status covers, as a stream.
//!
//! Every instance comes from paged `GetInstances` (the Rust SDK has no paginator for
//! it), or, when the command names instances, from `GetInstance` each. Because it is a
//! stream, the sweep starts reconciling the first page while later pages are still being
//! read.

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::lightsail::{Instance, Lightsail, LightsailError};

/// Far more pages than any Region holds: a service that never stops paging is a bug.
const MAX_PAGES: usize = 10_000;

/// A failed lookup, with the instance name when one was asked for.
pub type Lookup = (Option<String>, LightsailError);

pub fn inventory<'a>(
    ls: &'a impl Lightsail,
    names: Option<&'a [String]>,
    concurrency: usize,
) -> BoxStream<'a, Result<Instance, Lookup>> {
    match names {
        Some(names) => stream::iter(names)
            .map(move |name| async move {
                ls.get_instance(name)
                    .await
                    .map_err(|e| (Some(name.clone()), e))
            })
            .buffered(concurrency)
            .boxed(),
        None => every_page(ls).boxed(),
    }
}

fn every_page<'a>(
    ls: &'a impl Lightsail,
) -> impl futures::Stream<Item = Result<Instance, Lookup>> + Send + 'a {
    // State: the token of the next page (None: the first), or done.
    let start: Option<(Option<String>, usize)> = Some((None, 0));
    stream::try_unfold(start, move |state| async move {
        let Some((token, pages)) = state else {
            return Ok(None);
        };
        let page = ls
            .get_instances(token.as_deref())
            .await
            .map_err(|e| (None, e))?;
        let next = match page.next_page_token {
            Some(next) if pages + 1 < MAX_PAGES && Some(&next) != token.as_ref() => {
                Some((Some(next), pages + 1))
            }
            _ => None,
        };
        Ok(Some((
            stream::iter(page.instances.into_iter().map(Ok)),
            next,
        )))
    })
    .try_flatten()
}
