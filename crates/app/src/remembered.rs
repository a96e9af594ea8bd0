//! Values read from the store, remembered in memory by key: for a while (a value
//! that may change, seen again within its time to live) or for good (a value that
//! never changes). Past its most entries the map starts over.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Remembered<V> {
    entries: Mutex<HashMap<String, (Instant, V)>>,
    /// How long a value is believed; `None`: for good.
    ttl: Option<Duration>,
    max_entries: usize,
}

impl<V: Clone> Remembered<V> {
    pub fn new(ttl: Option<Duration>, max_entries: usize) -> Self {
        Remembered {
            entries: Mutex::new(HashMap::new()),
            ttl,
            max_entries,
        }
    }

    pub fn recall(&self, key: &str) -> Option<V> {
        let entries = self.entries.lock().expect("remembered values");
        let (at, value) = entries.get(key)?;
        let believed = match self.ttl {
            Some(ttl) => at.elapsed() < ttl,
            None => true,
        };
        believed.then(|| value.clone())
    }

    pub fn remember(&self, key: &str, value: V) {
        let mut entries = self.entries.lock().expect("remembered values");
        if entries.len() >= self.max_entries {
            entries.clear();
        }
        entries.insert(key.to_string(), (Instant::now(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::Remembered;
    use std::time::Duration;

    #[test]
    fn forgets_after_its_time_to_live_and_starts_over_when_full() {
        let brief = Remembered::new(Some(Duration::ZERO), 10);
        brief.remember("a", 1);
        assert_eq!(brief.recall("a"), None);

        let lasting = Remembered::new(None, 2);
        lasting.remember("a", 1);
        lasting.remember("b", 2);
        assert_eq!(
            (lasting.recall("a"), lasting.recall("b")),
            (Some(1), Some(2))
        );
        lasting.remember("c", 3);
        assert_eq!((lasting.recall("a"), lasting.recall("c")), (None, Some(3)));
    }
}
