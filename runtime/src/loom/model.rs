//! Runs a loom model with the CI budget: `LOOM_MAX_PREEMPTIONS` (default 2)
//! bounds the preemptions explored per execution.

pub(crate) fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(
            std::env::var("LOOM_MAX_PREEMPTIONS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(2),
        );
    }
    b.check(f);
}
