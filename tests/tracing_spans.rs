//! Feature "tracing": every task gets a span (`task`, with its name, id
//! and spawn location) entered on each poll, so the events of its polls
//! carry it — as tracing-subscriber's fmt layer shows; slow polls and
//! never-retrieved panics are events. Checked with a capturing layer
//! installed as the global subscriber (tasks run on worker threads), on
//! current_thread, 1 and 4 workers.
//!
//! `cargo test --features tracing --test tracing_spans`

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// An event's message, its fields, and its innermost span's fields.
type SeenEvent = (
    String,
    HashMap<String, String>,
    Option<HashMap<String, String>>,
);

/// What the capturing layer saw.
#[derive(Default, Debug)]
struct Seen {
    /// Span id -> (name, fields).
    spans: HashMap<u64, (String, HashMap<String, String>)>,
    /// Span id -> times entered.
    entered: HashMap<u64, usize>,
    /// (message, fields, the innermost span's fields).
    events: Vec<SeenEvent>,
}

struct Fields(HashMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Seen>>);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut f = Fields(HashMap::new());
        attrs.record(&mut f);
        let name = attrs.metadata().name().to_string();
        self.0
            .lock()
            .unwrap()
            .spans
            .insert(id.into_u64(), (name, f.0));
    }
    fn on_enter(&self, id: &Id, _: Context<'_, S>) {
        *self
            .0
            .lock()
            .unwrap()
            .entered
            .entry(id.into_u64())
            .or_default() += 1;
    }
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut f = Fields(HashMap::new());
        event.record(&mut f);
        let msg = f.0.remove("message").unwrap_or_default();
        let mut seen = self.0.lock().unwrap();
        let span = ctx
            .event_span(event)
            .and_then(|s| seen.spans.get(&s.id().into_u64()).map(|(_, f)| f.clone()));
        seen.events.push((msg, f.0, span));
    }
}

/// The fmt layer's output.
#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn tasks_have_spans_entered_on_each_poll_and_reports_are_events() {
    let capture = Capture::default();
    let out = Buf::default();
    let o = out.clone();
    let subscriber = tracing_subscriber::registry().with(capture.clone()).with(
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(move || o.clone()),
    );
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    for flavor in common::flavors() {
        let _dog = common::Watchdog::new(flavor, common::WATCHDOG);
        *capture.0.lock().unwrap() = Seen::default();
        let mut b = flavor.builder();
        b.debug(true)
            .slow_poll_threshold(Duration::from_millis(5))
            .exception_handler(|_| {});
        let rt = b.build().unwrap();
        rt.block_on(async {
            let t = aio::task::Builder::new()
                .name("traced-worker")
                .spawn(async {
                    tracing::info!(step = 1, "inside the task");
                    aio::task::yield_now().await;
                    tracing::info!(step = 2, "after a yield");
                    // Blocks on purpose: a slow poll.
                    std::thread::sleep(Duration::from_millis(20));
                });
            t.await.unwrap();
            // A panic nobody retrieves: the handle is dropped.
            let p = aio::spawn(async { panic!("nobody looks") });
            while !p.is_done() {
                aio::task::yield_now().await;
            }
            drop(p);
        });
        drop(rt);

        let seen = capture.0.lock().unwrap();
        let (id, (_, fields)) = seen
            .spans
            .iter()
            .find(|(_, (name, f))| {
                name == "task" && f.get("task.name").map(String::as_str) == Some("traced-worker")
            })
            .unwrap_or_else(|| panic!("{flavor:?}: no span for the named task: {seen:?}"));
        assert!(fields.contains_key("task.id"), "{fields:?}");
        assert!(
            fields
                .get("spawned.at")
                .is_some_and(|at| at.contains("tests/tracing_spans.rs")),
            "{fields:?}"
        );
        assert!(
            seen.entered.get(id).copied().unwrap_or(0) >= 2,
            "{flavor:?}: the span is entered on each poll: {:?}",
            seen.entered.get(id)
        );
        for msg in ["inside the task", "after a yield"] {
            let (_, _, span) = seen
                .events
                .iter()
                .find(|(m, _, _)| m == msg)
                .unwrap_or_else(|| panic!("{flavor:?}: no event {msg:?}"));
            let span = span.as_ref().expect("the event is inside a span");
            assert_eq!(
                span.get("task.name").map(String::as_str),
                Some("traced-worker")
            );
        }
        assert!(
            seen.events
                .iter()
                .any(|(m, _, _)| m.starts_with("Executing <Task") && m.contains("traced-worker")),
            "{flavor:?}: a slow-poll event: {:?}",
            seen.events
        );
        assert!(
            seen.events
                .iter()
                .any(|(m, f, _)| m == "Task exception was never retrieved"
                    && f.get("panic").is_some_and(|p| p.contains("nobody looks"))),
            "{flavor:?}: a never-retrieved panic event: {:?}",
            seen.events
        );
    }
    // The fmt layer prints the task's span before its events.
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.lines().any(|l| l.contains("task{")
            && l.contains("traced-worker")
            && l.contains("inside the task")),
        "{text}"
    );
}
