//! Sign-in attempts per client address: at most so many a minute, counted in
//! memory (a restart forgets them; the per-user lockout is stored).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Addresses remembered at most; past it, windows that ended are forgotten first.
const MAX_ADDRESSES: usize = 10_000;
const WINDOW: Duration = Duration::from_secs(60);

pub struct Throttle {
    per_minute: u32,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Throttle {
    pub fn new(per_minute: u32) -> Self {
        Throttle {
            per_minute: per_minute.max(1),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt from `from`; false when it is one too many this minute.
    /// IPv6 addresses count by their /64, which one client usually holds whole.
    pub fn admit(&self, from: IpAddr) -> bool {
        let from = match from {
            IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
            v4 => v4,
        };
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= MAX_ADDRESSES {
            seen.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
            if seen.len() >= MAX_ADDRESSES {
                // Still full of live windows: a flood; refuse the newcomers.
                return seen.contains_key(&from) && self.count(&mut seen, from, now);
            }
        }
        self.count(&mut seen, from, now)
    }

    fn count(
        &self,
        seen: &mut HashMap<IpAddr, (Instant, u32)>,
        from: IpAddr,
        now: Instant,
    ) -> bool {
        let (start, count) = seen.entry(from).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            *start = now;
            *count = 0;
        }
        *count += 1;
        *count <= self.per_minute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_share_per_minute() {
        let t = Throttle::new(3);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(t.admit(a) && t.admit(a) && t.admit(a));
        assert!(!t.admit(a));
        assert!(t.admit(b));
        let (c, d): (IpAddr, IpAddr) = (
            "2001:db8::1".parse().unwrap(),
            "2001:db8::ffff".parse().unwrap(),
        );
        assert!(t.admit(c) && t.admit(d) && t.admit(c));
        assert!(!t.admit(d), "one /64, one share");
    }
}
