//! The published snapshot: clpd's latest status, shared inside the process.
//!
//! The loop publishes a new edition whenever it writes `status.json`; readers
//! on other threads (an HTTP API, metrics) take the latest edition without
//! touching the loop: a read lock held for the time of one reference-count
//! increment, never while a snapshot is built or serialised.

use std::sync::{Arc, PoisonError, RwLock};

use super::Snapshot;

/// One published snapshot and its number.
#[derive(Debug)]
pub struct Edition {
    /// 1 for the first snapshot, then one more per published change: a reader
    /// that saw generation `n` has nothing new to fetch while it is still `n`.
    pub generation: u64,
    pub snapshot: Snapshot,
}

/// The latest [`Edition`]; cheap to share (`Arc<Published>`).
#[derive(Debug, Default)]
pub struct Published {
    latest: RwLock<Option<Arc<Edition>>>,
}

impl Published {
    pub fn new() -> Self {
        Self::default()
    }

    /// The latest edition, or None before clpd has published anything.
    pub fn latest(&self) -> Option<Arc<Edition>> {
        // A writer cannot panic while holding the lock (it only swaps an
        // Arc), so a poisoned lock still guards a whole edition.
        self.latest
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Makes `snapshot` the latest edition; returns it.
    pub fn publish(&self, snapshot: Snapshot) -> Arc<Edition> {
        let mut latest = self.latest.write().unwrap_or_else(PoisonError::into_inner);
        let generation = latest.as_ref().map_or(1, |e| e.generation + 1);
        let edition = Arc::new(Edition {
            generation,
            snapshot,
        });
        *latest = Some(edition.clone());
        edition
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{ClusterStatus, SCHEMA_VERSION, ServiceState};

    fn snapshot(name: &str) -> Snapshot {
        Snapshot {
            schema: SCHEMA_VERSION,
            generated_at_ms: 0,
            generated_at: String::new(),
            daemon_pid: 1,
            version: "test".into(),
            cluster: ClusterStatus {
                name: name.into(),
                service: ServiceState::Offline,
                config_digest: "0".into(),
                quorum: None,
            },
            servers: vec![],
            groups: vec![],
            monitors: vec![],
        }
    }

    #[test]
    fn readers_on_other_threads_see_each_edition_with_its_number() {
        let published = Arc::new(Published::new());
        assert!(published.latest().is_none());
        assert_eq!(published.publish(snapshot("a")).generation, 1);
        let reader = {
            let published = published.clone();
            std::thread::spawn(move || published.latest().map(|e| e.generation))
        };
        assert_eq!(reader.join().unwrap(), Some(1));
        let held = published.latest().unwrap();
        assert_eq!(published.publish(snapshot("b")).generation, 2);
        // A reader keeps the edition it took; the next one sees the new edition.
        assert_eq!(held.snapshot.cluster.name, "a");
        let latest = published.latest().unwrap();
        assert_eq!(
            (latest.generation, latest.snapshot.cluster.name.as_str()),
            (2, "b")
        );
    }
}
