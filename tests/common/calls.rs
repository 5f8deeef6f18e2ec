//! What the simulator saw: its call log read the way tests ask about it. A write is
//! `OpenInstancePublicPorts`, `PutInstancePublicPorts`, `TagResource` or
//! `UntagResource` (`Op::is_write`); failed calls are in the log too.

use lightsail_jit::lightsail::sim::{Call, Sim};

/// Every write call, failed ones included, in the order they were made.
pub fn writes_seen(sim: &Sim) -> Vec<Call> {
    sim.calls()
        .into_iter()
        .filter(|c| c.op.is_write())
        .collect()
}

/// Every write call on `instance`, failed ones included.
pub fn writes_seen_on(sim: &Sim, instance: &str) -> Vec<Call> {
    writes_seen(sim)
        .into_iter()
        .filter(|c| c.instance.as_deref() == Some(instance))
        .collect()
}

/// How many write calls succeeded.
pub fn successful_writes(sim: &Sim) -> usize {
    writes_seen(sim).iter().filter(|c| c.ok).count()
}

/// Lightsail saw no write call at all (not even a failed one); the panic lists them.
#[track_caller]
pub fn assert_no_write(sim: &Sim, label: &str) {
    let writes = writes_seen(sim);
    assert!(
        writes.is_empty(),
        "{label}: Lightsail saw {} write(s): {writes:?}",
        writes.len()
    );
}
