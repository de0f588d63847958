//! Behaviour tests of the wheel: every level boundary, cascades, removal from
//! every list, stale keys, far deadlines, entries due on insert, big jumps,
//! `next_expiration`, and consistency after a panicking `fire`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::*;
use crate::level::{level_for, slot_span, LEVELS, MAX_DURATION};

/// Advances to `now`, checks the invariants, returns the fired values.
fn advance<T>(wheel: &mut Wheel<T>, now: u64) -> Vec<T> {
    let mut fired = Vec::new();
    wheel.advance(now, |_, value| fired.push(value));
    wheel.check_invariants();
    fired
}

/// Runs the wheel to empty like a runtime whose clock lands exactly on each
/// `next_expiration`. Returns every `(tick, value)` fired and the wake count.
fn run_to_empty<T>(wheel: &mut Wheel<T>) -> (Vec<(u64, T)>, usize) {
    let mut fired = Vec::new();
    let mut wakes = 0;
    while let Some(tick) = wheel.next_expiration() {
        let now = tick.max(wheel.elapsed());
        wakes += 1;
        assert!(wakes < 10_000, "run_to_empty does not converge");
        wheel.advance(now, |_, value| fired.push((now, value)));
        wheel.check_invariants();
    }
    (fired, wakes)
}

/// 1, 2, and 64^k - 1, 64^k, 64^k + 1 for k = 1..=6.
fn boundaries() -> Vec<u64> {
    let mut ticks = vec![1, 2];
    for k in 1..=LEVELS {
        let span = slot_span(k);
        ticks.extend([span - 1, span, span + 1]);
    }
    ticks
}

#[test]
fn empty_wheel() {
    let mut wheel = Wheel::<u8>::new();
    assert_eq!(wheel.next_expiration(), None);
    assert!(advance(&mut wheel, 1_000).is_empty());
    assert_eq!(wheel.elapsed(), 1_000);
    assert_eq!(wheel.len(), 0);
}

#[test]
fn every_level_boundary_from_zero() {
    for deadline in boundaries() {
        let mut wheel = Wheel::new();
        let key = wheel.insert(deadline, deadline);
        wheel.check_invariants();
        let next = wheel.next_expiration().unwrap();
        assert!(next <= deadline, "next {next} > deadline {deadline}");
        assert!(advance(&mut wheel, deadline - 1).is_empty(), "{deadline}");
        assert_eq!(wheel.deadline(key), Some(deadline));
        assert_eq!(advance(&mut wheel, deadline), [deadline]);
        assert_eq!(wheel.elapsed(), deadline);
        assert!(wheel.is_empty());
    }
}

#[test]
fn every_level_boundary_from_many_starting_ticks() {
    let mut starts = vec![1, u64::MAX - MAX_DURATION - 5, u64::MAX - 70];
    starts.extend(boundaries());
    for &start in &starts {
        for delta in boundaries() {
            let deadline = start.saturating_add(delta);
            let mut wheel = Wheel::new();
            advance(&mut wheel, start);
            wheel.insert(deadline, ());
            let (fired, wakes) = run_to_empty(&mut wheel);
            assert_eq!(fired, [(deadline, ())], "start {start} delta {delta}");
            // One wake per level passed through, plus the overflow list.
            assert!(wakes <= LEVELS + 1, "{wakes} wakes: start {start}");
        }
    }
}

#[test]
fn cascade_fires_each_entry_at_its_own_tick() {
    let mut wheel = Wheel::new();
    // Spread over one level-2 slot, across level-1 and level-0 slots, with
    // duplicates and the slot's first and last ticks.
    let base = 5 * slot_span(2);
    let mut deadlines: Vec<u64> = (0..slot_span(2)).step_by(37).map(|d| base + d).collect();
    deadlines.extend([base, base, base + 64, base + slot_span(2) - 1, base + 1]);
    for &deadline in &deadlines {
        wheel.insert(deadline, deadline);
    }
    let (fired, _) = run_to_empty(&mut wheel);
    for &(tick, deadline) in &fired {
        assert_eq!(tick, deadline);
    }
    let ticks: Vec<u64> = fired.iter().map(|&(tick, _)| tick).collect();
    assert!(ticks.is_sorted(), "fired out of order");
    deadlines.sort_unstable();
    assert_eq!(ticks, deadlines);
}

#[test]
fn tick_by_tick_fires_exactly_on_the_deadline() {
    let mut wheel = Wheel::new();
    let deadlines = [1, 63, 64, 65, 127, 128, 4095, 4096, 4097, 5000, 9000, 9000];
    for &deadline in &deadlines {
        wheel.insert(deadline, deadline);
    }
    let mut fired = Vec::new();
    for now in 1..=10_000 {
        wheel.advance(now, |_, deadline| {
            assert_eq!(deadline, now);
            fired.push(deadline);
        });
    }
    wheel.check_invariants();
    assert_eq!(fired, deadlines);
}

#[test]
fn remove_from_every_level_and_list() {
    let mut wheel = Wheel::new();
    advance(&mut wheel, 10);
    let keeper = wheel.insert(11, "keeper");
    let mut keys = vec![(wheel.insert(3, "due"), 3)];
    for level in 0..LEVELS {
        let deadline = 3 * slot_span(level) + 17;
        assert_eq!(level_for(10, deadline), Some(level));
        keys.push((wheel.insert(deadline, "level"), deadline));
    }
    keys.push((wheel.insert(MAX_DURATION + 9, "overflow"), MAX_DURATION + 9));
    keys.push((wheel.insert(u64::MAX, "overflow"), u64::MAX));
    wheel.check_invariants();

    for &(key, deadline) in &keys {
        assert_eq!(wheel.deadline(key), Some(deadline));
        assert!(wheel.remove(key).is_some());
        assert_eq!(wheel.remove(key), None);
        assert_eq!(wheel.deadline(key), None);
        wheel.check_invariants();
    }
    assert_eq!(wheel.len(), 1);
    assert_eq!(wheel.next_expiration(), Some(11));
    assert_eq!(advance(&mut wheel, u64::MAX), ["keeper"]);
    assert_eq!(wheel.remove(keeper), None);
}

#[test]
fn remove_after_the_entry_cascaded() {
    let mut wheel = Wheel::new();
    let key = wheel.insert(10_000, ());
    advance(&mut wheel, 8192); // moved from level 2 to level 1
    advance(&mut wheel, 9984); // and to level 0
    assert_eq!(wheel.deadline(key), Some(10_000));
    assert_eq!(wheel.remove(key), Some(()));
    wheel.check_invariants();
    assert_eq!(wheel.next_expiration(), None);
}

#[test]
fn stale_key_never_reaches_a_newer_entry() {
    let mut wheel = Wheel::new();
    let old = wheel.insert(5, "old");
    assert_eq!(advance(&mut wheel, 5), ["old"]);
    let new = wheel.insert(8, "new");
    assert_eq!(new.index(), old.index(), "slot is reused");
    assert_ne!(new, old);
    assert_eq!(wheel.remove(old), None);
    assert_eq!(wheel.deadline(old), None);
    assert_eq!(wheel.len(), 1);
    assert_eq!(advance(&mut wheel, 8), ["new"]);

    let removed = wheel.insert(9, "removed");
    wheel.remove(removed);
    let newer = wheel.insert(9, "newer");
    assert_eq!(wheel.remove(removed), None);
    assert_eq!(wheel.remove(newer), Some("newer"));
}

#[test]
fn far_deadlines_never_fire_early() {
    let far = [
        MAX_DURATION + 1,
        MAX_DURATION + 5,
        2 * MAX_DURATION,
        1 << 40,
        (1 << 40) + 12_345,
        u64::MAX - 1,
        u64::MAX,
    ];
    // Driven by next_expiration: each fires exactly at its deadline.
    let mut wheel = Wheel::new();
    for &deadline in &far {
        wheel.insert(deadline, deadline);
    }
    let (fired, wakes) = run_to_empty(&mut wheel);
    assert!(fired.iter().all(|&(tick, deadline)| tick == deadline));
    assert_eq!(fired.len(), far.len());
    assert!(wakes <= far.len() * (LEVELS + 1));

    // Driven by big jumps to one tick before each deadline, then onto it.
    let mut wheel = Wheel::new();
    for &deadline in &far {
        wheel.insert(deadline, deadline);
    }
    for &deadline in &far {
        assert!(advance(&mut wheel, deadline - 1).is_empty(), "{deadline}");
        assert_eq!(advance(&mut wheel, deadline), [deadline]);
    }
}

#[test]
fn near_deadline_across_a_top_rotation_boundary() {
    let mut wheel = Wheel::new();
    advance(&mut wheel, MAX_DURATION - 2);
    wheel.insert(MAX_DURATION + 2, ());
    // It waits in overflow until the rotation starts, four ticks from now.
    assert_eq!(wheel.next_expiration(), Some(MAX_DURATION + 1));
    assert!(advance(&mut wheel, MAX_DURATION + 1).is_empty());
    assert_eq!(wheel.next_expiration(), Some(MAX_DURATION + 2));
    assert_eq!(advance(&mut wheel, MAX_DURATION + 2), [()]);
}

#[test]
fn deadline_at_or_before_elapsed_fires_on_the_next_advance() {
    let mut wheel = Wheel::new();
    advance(&mut wheel, 100);
    wheel.insert(100, 100);
    wheel.insert(3, 3);
    wheel.insert(0, 0);
    wheel.insert(101, 101);
    assert_eq!(wheel.next_expiration(), Some(0));
    // Even an advance to an earlier tick fires them, without moving time.
    let mut fired = advance(&mut wheel, 50);
    fired.sort_unstable();
    assert_eq!(fired, [0, 3, 100]);
    assert_eq!(wheel.elapsed(), 100);
    assert_eq!(wheel.next_expiration(), Some(101));

    // Removing the only due entry resets the due bound.
    let key = wheel.insert(7, 7);
    assert_eq!(wheel.next_expiration(), Some(7));
    assert_eq!(wheel.remove(key), Some(7));
    wheel.check_invariants();
    assert_eq!(wheel.next_expiration(), Some(101));
}

#[test]
fn big_jumps_skip_empty_slots() {
    let mut wheel = Wheel::new();
    wheel.insert(7, 'a');
    wheel.insert(500_000_000, 'b');
    wheel.insert(u64::MAX / 2, 'c');
    assert_eq!(advance(&mut wheel, 1_000_000_007), ['a', 'b']);
    assert_eq!(advance(&mut wheel, u64::MAX), ['c']);
    // Jumps with nothing to fire, from the very top of the tick range.
    assert!(advance(&mut wheel, u64::MAX).is_empty());
    assert_eq!(wheel.elapsed(), u64::MAX);
    wheel.insert(u64::MAX, 'd');
    assert_eq!(advance(&mut wheel, 0), ['d']);
}

#[test]
fn next_expiration_is_exact_in_level_zero_and_slot_starts_above() {
    let mut wheel = Wheel::new();
    advance(&mut wheel, 1_024);
    wheel.insert(1_074, ());
    assert_eq!(wheel.next_expiration(), Some(1_074));
    wheel.insert(1_044, ());
    assert_eq!(wheel.next_expiration(), Some(1_044));
    let far = wheel.insert(1_024 + 3 * slot_span(3) + 77, ());
    assert_eq!(wheel.next_expiration(), Some(1_044));
    advance(&mut wheel, 1_074);
    // 787_533 is in level 3, slot 3: the slot starts at 786_432.
    assert_eq!(wheel.deadline(far), Some(787_533));
    assert_eq!(wheel.next_expiration(), Some(786_432));
    // Crossing into the next level-0 rotation is a level-1 move.
    wheel.insert(1_100, ());
    assert_eq!(wheel.next_expiration(), Some(1_088));
}

#[test]
fn insert_and_remove_do_not_grow_storage_past_the_peak() {
    let mut wheel = Wheel::new();
    let keys: Vec<_> = (0..100).map(|i| wheel.insert(i * 1_000, i)).collect();
    for key in keys {
        wheel.remove(key);
    }
    for round in 0..10 {
        let keys: Vec<_> = (0..100).map(|i| wheel.insert(i * 777, i)).collect();
        assert_eq!(wheel.slab.capacity(), 100, "round {round}");
        for key in keys {
            wheel.remove(key);
        }
    }
}

#[test]
fn wheel_is_send_and_sync_when_its_values_are() {
    fn assert_send_sync<S: Send + Sync>() {}
    assert_send_sync::<Wheel<u64>>();
    assert_send_sync::<Key>();
}

#[test]
fn debug_and_default() {
    struct NotDebug;
    let mut wheel: Wheel<NotDebug> = Wheel::default();
    wheel.insert(64, NotDebug);
    advance(&mut wheel, 9);
    let text = format!("{wheel:?}");
    assert!(text.contains("len: 1"), "{text}");
    assert!(text.contains("elapsed: 9"), "{text}");
    assert!(text.contains("next_expiration: Some(64)"), "{text}");
}

/// Advances with a `fire` that panics on its `panic_at`-th call (1-based);
/// returns the values fired before the panic.
fn advance_panicking(wheel: &mut Wheel<u32>, now: u64, panic_at: usize) -> Vec<u32> {
    let mut fired = Vec::new();
    let result = catch_unwind(AssertUnwindSafe(|| {
        wheel.advance(now, |_, value| {
            if fired.len() + 1 == panic_at {
                panic!("fire panics");
            }
            fired.push(value);
        });
    }));
    assert!(result.is_err(), "fire should have panicked");
    fired
}

#[test]
fn panicking_fire_leaves_every_other_entry_to_fire_later() {
    // (deadlines, advance to, elapsed after the recovery advance)
    let cases: [(&[u64], u64); 4] = [
        (&[9, 9, 9, 9], 9),                               // a level-0 slot
        (&[4096, 4096, 4100, 8000], 8000),                // a level-2 cascade
        (&[1 << 36, 1 << 36, (1 << 36) + 9], 1 << 37),    // the overflow list
        (&[64, 65, 64 * 64 + 1, 64 * 64, 200], 64 * 200), // several slots
    ];
    for (deadlines, now) in cases {
        for panic_at in 1..=deadlines.len() {
            let mut wheel = Wheel::new();
            for (i, &deadline) in deadlines.iter().enumerate() {
                wheel.insert(deadline, i as u32);
            }
            let mut fired = advance_panicking(&mut wheel, now, panic_at);
            assert_eq!(wheel.len(), deadlines.len() - fired.len() - 1);
            let next = wheel.next_expiration();
            assert!(next.is_none_or(|tick| tick <= now), "{next:?}");
            // Resume with an earlier `now`: the interrupted work still finishes.
            let recovery_now = wheel.elapsed().min(now);
            fired.extend(advance(&mut wheel, recovery_now));
            fired.extend(advance(&mut wheel, now));
            assert!(wheel.is_empty(), "{deadlines:?} panic_at {panic_at}");
            fired.sort_unstable();
            fired.dedup();
            assert_eq!(fired.len(), deadlines.len() - 1, "lost or duplicated");
        }
    }

    // Entries already due when inserted.
    let mut wheel = Wheel::new();
    advance(&mut wheel, 10);
    for value in 0..3 {
        wheel.insert(5, value);
    }
    let mut fired = advance_panicking(&mut wheel, 10, 2);
    assert_eq!(wheel.next_expiration(), Some(5));
    fired.extend(advance(&mut wheel, 10));
    assert_eq!(fired.len(), 2);
    assert!(wheel.is_empty());
}
