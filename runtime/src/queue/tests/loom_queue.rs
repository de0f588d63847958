//! Model: the get-cancel race. A getter registers (its `get` is pending),
//! then is dropped on one thread while another thread puts an item. Under
//! every interleaving the item is not lost: it stays in the queue, or its
//! reservation passes to the next waiting getter, which is woken. And its
//! mirror: a putter granted room and dropped passes the room on, and its
//! item never enters the queue.

use crate::loom::model::model;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Arc;
use crate::queue::{GetError, Queue};
use loom::thread;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};

/// A waker that counts its wakes.
#[derive(Default)]
struct Recorder(AtomicUsize);

impl Wake for Recorder {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn poll<F: Future + Unpin>(f: &mut F, w: &Arc<Recorder>) -> Poll<F::Output> {
    let waker = Waker::from(w.clone());
    Pin::new(f).poll(&mut Context::from_waker(&waker))
}

#[test]
fn dropped_getter_racing_a_put_loses_nothing() {
    model(|| {
        let q = Queue::new(0);
        let rec = Arc::new(Recorder::default());
        let getter = {
            let q = q.clone();
            let rec = rec.clone();
            thread::spawn(move || {
                let mut get = q.get();
                // If the put came first, the getter takes the item at once.
                let got = match poll(&mut get, &rec) {
                    Poll::Ready(r) => Some(r.unwrap()),
                    Poll::Pending => None,
                };
                drop(get);
                got
            })
        };
        let putter = {
            let q = q.clone();
            thread::spawn(move || q.put_nowait(7u32).unwrap())
        };
        let got = getter.join().unwrap();
        putter.join().unwrap();
        let left = q.get_nowait().ok();
        // Exactly one of the two has the item.
        assert_eq!(got.xor(left), Some(7));
        assert_eq!(q.get_nowait(), Err(GetError::Empty));
    });
}

#[test]
fn grant_of_a_dropped_getter_passes_to_the_next() {
    model(|| {
        let q = Queue::new(0);
        let (ra, rb) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
        // A and B wait, in that order.
        let mut a = q.get();
        let mut b = q.get();
        assert!(poll(&mut a, &ra).is_pending());
        assert!(poll(&mut b, &rb).is_pending());
        let putter = {
            let q = q.clone();
            thread::spawn(move || q.put_nowait(7u32).unwrap())
        };
        drop(a);
        putter.join().unwrap();
        // Whether the put came before or after A was dropped, B holds the
        // item now and was woken for it.
        assert_eq!(rb.0.load(SeqCst), 1);
        assert_eq!(poll(&mut b, &rb), Poll::Ready(Ok(7)));
        assert_eq!(q.get_nowait(), Err(GetError::Empty));
    });
}

#[test]
fn dropped_putter_racing_a_get_enqueues_nothing() {
    model(|| {
        let q = Queue::new(1);
        q.put_nowait(1u32).unwrap();
        let (ra, rb) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
        // A and B wait for room, in that order.
        let mut a = q.put(2);
        let mut b = q.put(3);
        assert!(poll(&mut a, &ra).is_pending());
        assert!(poll(&mut b, &rb).is_pending());
        let getter = {
            let q = q.clone();
            thread::spawn(move || q.get_nowait().unwrap())
        };
        drop(a);
        assert_eq!(getter.join().unwrap(), 1);
        // The room went to B (directly, or passed on by A), which was woken.
        assert_eq!(rb.0.load(SeqCst), 1);
        assert_eq!(poll(&mut b, &rb), Poll::Ready(Ok(())));
        assert_eq!(q.get_nowait(), Ok(3), "A's item never entered");
        assert_eq!(q.get_nowait(), Err(GetError::Empty));
    });
}
