//! The audit trail as tests read it: a JSON `tracing` subscriber writing into memory,
//! and the `audit` lines it caught.

use std::sync::{Arc, Mutex};

use serde_json::Value;

/// While alive, this thread's `tracing` output goes to the capture.
pub struct Installed {
    _guard: tracing::subscriber::DefaultGuard,
    _turn: std::sync::MutexGuard<'static, ()>,
}

/// Where the subscriber writes; clone it into the writer closure.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    /// Route this thread's `tracing` output here as JSON lines, until the guard drops.
    /// Use it in a `current_thread` test so every line is this test's.
    pub fn install(&self) -> Installed {
        // One capture at a time in a binary (see tests/audit.rs for why it matters).
        static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(move || writer.clone())
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        // Call sites reached before this subscriber existed are asked again.
        tracing::callsite::rebuild_interest_cache();
        Installed {
            _guard: guard,
            _turn: turn,
        }
    }

    /// The `fields` of every audit line so far.
    pub fn audit(&self) -> Vec<Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v["fields"]["audit"] == true)
            .map(|v| v["fields"].clone())
            .collect()
    }
}
