//! Runs a loom model with the CI budget: `LOOM_MAX_PREEMPTIONS` (default 2)
//! bounds the preemptions explored per execution.

pub(crate) fn model(f: impl Fn() + Sync + Send + 'static) {
    model_capped(usize::MAX, f)
}

/// As `model`, with the preemption bound capped at `cap` (for models whose
/// state space explodes past it).
pub(crate) fn model_capped(cap: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    let env = std::env::var("LOOM_MAX_PREEMPTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    b.preemption_bound = Some(b.preemption_bound.unwrap_or(env).min(cap));
    b.check(f);
}
