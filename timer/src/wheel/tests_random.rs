//! Randomised property test: 200 seeds × 2,000 random operations (insert with
//! deadlines over every level, remove live and stale keys, advance by small
//! and huge amounts) checked against a sorted-set model after every step.
//!
//! Properties: exactly the due entries fire on each `advance` (none early,
//! none twice, none lost) under the key they were inserted with; entries not
//! already due fire in nondecreasing deadline order; `len`, `deadline` and
//! `remove` agree with the model; `next_expiration` is `None` iff the wheel is
//! empty, never later than the earliest deadline, exact when that deadline is
//! in the current level-0 rotation, and not `<= elapsed` unless something is
//! already due. Uses a local xorshift generator: no dependencies.

use std::collections::{BTreeSet, HashMap};

use super::*;
use crate::level::LEVELS;
use crate::level::{slot_span, MAX_DURATION};

const SEEDS: u64 = 200;
const OPS: usize = 2_000;

/// xorshift64: small, fast, good enough to pick operations.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        XorShift((seed + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform-ish in `0..n`; 0 when `n == 0`.
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

/// What the wheel should hold.
#[derive(Default)]
struct Model {
    /// `(deadline, id)` of every live entry.
    by_deadline: BTreeSet<(u64, u64)>,
    /// id -> (key, deadline) of every live entry.
    live: HashMap<u64, (Key, u64)>,
    /// Keys handed out and not yet picked for removal: live or stale.
    handed_out: Vec<(u64, Key)>,
    elapsed: u64,
    next_id: u64,
}

/// A deadline relative to `elapsed`, spread over every level and list.
fn random_deadline(rng: &mut XorShift, elapsed: u64) -> u64 {
    match rng.below(12) {
        // Already due.
        0 => elapsed.saturating_sub(rng.below(100)),
        // On, just before or just after the next boundary of some level.
        1 | 2 => {
            let span = slot_span(1 + rng.below(LEVELS as u64) as usize);
            let boundary = (elapsed | (span - 1)).saturating_add(1);
            boundary.saturating_add(rng.below(3)).saturating_sub(1)
        }
        // Beyond the levels' span.
        3 => elapsed.saturating_add(MAX_DURATION + rng.below(4 * MAX_DURATION)),
        // The very end of time, rarely.
        4 if rng.below(8) == 0 => u64::MAX - rng.below(2),
        // Within some level's range: 64^k for k in 0..=6.
        _ => {
            let span = slot_span(rng.below(LEVELS as u64 + 1) as usize);
            elapsed.saturating_add(1 + rng.below(span))
        }
    }
}

/// A `now` for `advance`: behind, on, or small to huge jumps ahead.
fn random_now(rng: &mut XorShift, wheel: &Wheel<u64>, model: &Model) -> u64 {
    let elapsed = model.elapsed;
    let ahead = |span: u64, rng: &mut XorShift| elapsed.saturating_add(rng.below(span));
    match rng.below(12) {
        0 => elapsed.saturating_sub(rng.below(10)),
        1 => wheel.next_expiration().unwrap_or(elapsed),
        2 => {
            let picked = rng.below(model.handed_out.len() as u64) as usize;
            match model
                .handed_out
                .get(picked)
                .and_then(|(id, _)| model.live.get(id))
            {
                Some(&(_, deadline)) => deadline - rng.below(2).min(deadline),
                None => elapsed,
            }
        }
        3 => elapsed.saturating_add(1),
        4 => ahead(64, rng),
        5 => ahead(slot_span(2), rng),
        6 => ahead(slot_span(3), rng),
        7 => ahead(slot_span(4), rng),
        8 => ahead(slot_span(5), rng),
        9 => ahead(2 * slot_span(6), rng),
        _ => ahead(16, rng),
    }
}

/// Advances wheel and model to `now` and checks what fired.
fn check_advance(wheel: &mut Wheel<u64>, model: &mut Model, now: u64) {
    let before = model.elapsed;
    let mut fired = Vec::new();
    wheel.advance(now, |key, id| fired.push((key, id)));
    model.elapsed = model.elapsed.max(now);
    assert_eq!(wheel.elapsed(), model.elapsed);

    let mut fired_deadlines = Vec::new();
    for &(key, id) in &fired {
        let (live_key, deadline) = model
            .live
            .remove(&id)
            .unwrap_or_else(|| panic!("entry {id} fired but is not live (twice, or removed)"));
        assert_eq!(key, live_key, "fired under another key");
        assert!(deadline <= model.elapsed, "{id} fired early: {deadline}");
        assert!(model.by_deadline.remove(&(deadline, id)));
        if deadline > before {
            fired_deadlines.push(deadline);
        }
    }
    assert!(
        fired_deadlines.is_sorted(),
        "out of order: {fired_deadlines:?}"
    );
    if let Some(&(deadline, id)) = model.by_deadline.first() {
        assert!(
            deadline > model.elapsed,
            "{id} (deadline {deadline}) was lost"
        );
    }
}

/// Checks `len` and `next_expiration` against the model.
fn check_queries(wheel: &Wheel<u64>, model: &Model) {
    assert_eq!(wheel.len(), model.live.len());
    assert_eq!(wheel.is_empty(), model.live.is_empty());
    let elapsed = model.elapsed;
    match (wheel.next_expiration(), model.by_deadline.first()) {
        (None, None) => {}
        (Some(next), Some(&(earliest, _))) => {
            assert!(next <= earliest, "next {next} after deadline {earliest}");
            if earliest > elapsed {
                assert!(
                    next > elapsed,
                    "next {next} <= elapsed {elapsed}, nothing due"
                );
            }
            if earliest > elapsed && earliest ^ elapsed < slot_span(1) {
                assert_eq!(next, earliest, "level 0 must be exact");
            }
        }
        (next, earliest) => panic!("next_expiration {next:?}, earliest {earliest:?}"),
    }
}

fn run_seed(seed: u64) {
    let mut rng = XorShift::new(seed);
    let mut wheel = Wheel::new();
    let mut model = Model::default();
    let start = match seed % 4 {
        0 => 0,
        1 => rng.below(1 << 40),
        2 => u64::MAX - (1 << 45),
        _ => MAX_DURATION - 1_000,
    };
    check_advance(&mut wheel, &mut model, start);

    for op in 0..OPS {
        match rng.below(100) {
            0..45 => {
                let deadline = random_deadline(&mut rng, model.elapsed);
                let id = model.next_id;
                model.next_id += 1;
                let key = wheel.insert(deadline, id);
                model.by_deadline.insert((deadline, id));
                model.live.insert(id, (key, deadline));
                model.handed_out.push((id, key));
            }
            45..65 if !model.handed_out.is_empty() => {
                let picked = rng.below(model.handed_out.len() as u64) as usize;
                let (id, key) = model.handed_out.swap_remove(picked);
                match model.live.remove(&id) {
                    Some((_, deadline)) => {
                        assert_eq!(wheel.remove(key), Some(id));
                        assert!(model.by_deadline.remove(&(deadline, id)));
                    }
                    None => assert_eq!(wheel.remove(key), None, "stale key removed"),
                }
                assert_eq!(wheel.remove(key), None);
            }
            65..70 if !model.handed_out.is_empty() => {
                let picked = rng.below(model.handed_out.len() as u64) as usize;
                let (id, key) = model.handed_out[picked];
                let expected = model.live.get(&id).map(|&(_, deadline)| deadline);
                assert_eq!(wheel.deadline(key), expected);
            }
            _ => {
                let now = random_now(&mut rng, &wheel, &model);
                check_advance(&mut wheel, &mut model, now);
            }
        }
        check_queries(&wheel, &model);
        if op % 64 == 0 {
            wheel.check_invariants();
        }
    }

    wheel.check_invariants();
    check_advance(&mut wheel, &mut model, u64::MAX);
    assert!(wheel.is_empty() && model.live.is_empty(), "seed {seed}");
    wheel.check_invariants();
}

#[test]
fn random_operations_match_a_sorted_model() {
    for seed in 0..SEEDS {
        run_seed(seed);
    }
}
