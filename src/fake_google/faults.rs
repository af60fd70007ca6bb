//! Injected failures: random ones (seeded, per Gmail call) and targeted ones
//! (`fail_next(method, n, kind)`), plus the replies each fault produces on
//! the Gmail API and on the token endpoint. Counted as injected faults,
//! never as quota 429s.

use super::reply::{errors, Reply};
use super::{FaultKind, Faults};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, VecDeque};

pub(crate) struct FaultState {
    pub(crate) random: Faults,
    rng: StdRng,
    targeted: HashMap<String, VecDeque<FaultKind>>,
    /// Per method: how long an answer is held back after the call took
    /// effect (the caller cannot tell whether it happened; crash tests).
    holds: HashMap<String, std::time::Duration>,
}

impl Default for FaultState {
    fn default() -> Self {
        FaultState {
            random: Faults::default(),
            rng: StdRng::seed_from_u64(0),
            targeted: HashMap::new(),
            holds: HashMap::new(),
        }
    }
}

impl FaultState {
    pub(crate) fn set_random(&mut self, faults: Faults) {
        self.rng = StdRng::seed_from_u64(faults.seed);
        self.random = faults;
    }

    pub(crate) fn push_targeted(&mut self, method: &str, n: u32, kind: FaultKind) {
        let q = self.targeted.entry(method.to_string()).or_default();
        q.extend(std::iter::repeat_n(kind, n as usize));
    }

    pub(crate) fn set_hold(&mut self, method: &str, hold: std::time::Duration) {
        if hold.is_zero() {
            self.holds.remove(method);
        } else {
            self.holds.insert(method.to_string(), hold);
        }
    }

    pub(crate) fn hold(&self, method: &str) -> Option<std::time::Duration> {
        self.holds.get(method).copied()
    }

    pub(crate) fn take_targeted(&mut self, method: &str) -> Option<FaultKind> {
        self.targeted.get_mut(method).and_then(VecDeque::pop_front)
    }

    /// The fault for this call, if any: a targeted one first, else a roll of
    /// the random rates. `allow_reset` is false for calls inside a batch
    /// (a reset is a connection fault; the batch as a whole rolls for it).
    pub(crate) fn pick(&mut self, method: &str, allow_reset: bool) -> Option<FaultKind> {
        if let Some(kind) = self.take_targeted(method) {
            return Some(kind);
        }
        let f = &self.random;
        let (server, limit, reset) = (f.server_error_rate, f.rate_limit_rate, f.reset_rate);
        if server + limit + reset <= 0.0 {
            return None;
        }
        let roll: f64 = self.rng.gen();
        let coin: bool = self.rng.gen();
        if roll < server {
            Some(FaultKind::ServerError)
        } else if roll < server + limit {
            Some(if coin {
                FaultKind::RateLimit429
            } else {
                FaultKind::RateLimit403
            })
        } else if allow_reset && roll < server + limit + reset {
            Some(FaultKind::Reset)
        } else {
            None
        }
    }

    /// A roll of only the reset rate (for a batch's outer request).
    pub(crate) fn pick_reset(&mut self, method: &str) -> Option<FaultKind> {
        if let Some(kind) = self.take_targeted(method) {
            return Some(kind);
        }
        let rate = self.random.reset_rate;
        (rate > 0.0 && self.rng.gen::<f64>() < rate).then_some(FaultKind::Reset)
    }

    /// 500 or 503 for a random server error, to exercise both.
    pub(crate) fn server_error_reply(&mut self) -> Reply {
        if self.rng.gen::<bool>() {
            errors::backend_error()
        } else {
            errors::unavailable()
        }
    }
}

/// What Gmail answers for an injected fault.
pub(crate) fn gmail_reply(kind: FaultKind) -> Reply {
    match kind {
        FaultKind::ServerError => errors::backend_error(),
        FaultKind::RateLimit429 => errors::rate_limited_429(),
        FaultKind::RateLimit403 => errors::rate_limited_403(),
        FaultKind::Reset => Reply::Reset,
        FaultKind::NotFound => errors::not_found(),
        FaultKind::RetryAfter(secs) => {
            errors::rate_limited_429().with_header("retry-after", secs.to_string())
        }
    }
}

/// What the token endpoint answers for an injected fault.
pub(crate) fn token_reply(kind: FaultKind) -> Reply {
    let rate_limited = || Reply::oauth_error(429, "rate_limit_exceeded", "Rate limit exceeded");
    match kind {
        FaultKind::ServerError => Reply::oauth_error(500, "internal_failure", "Backend Error"),
        FaultKind::RateLimit429 => rate_limited(),
        FaultKind::RateLimit403 => Reply::oauth_error(403, "rate_limit_exceeded", "Forbidden"),
        FaultKind::Reset => Reply::Reset,
        FaultKind::NotFound => Reply::oauth_error(404, "not_found", "Not Found"),
        FaultKind::RetryAfter(secs) => rate_limited().with_header("retry-after", secs.to_string()),
    }
}
