//! Model: oneshot send vs sender drop vs receive vs receiver drop. The
//! receiver gets the value iff `send` returned `Ok`, a pending receiver is
//! always woken, and the value is dropped exactly once.

use super::{poll, waker};
use crate::loom::model::model;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Arc;
use crate::sync::oneshot;
use loom::thread;
use std::task::Poll;

struct Value(Arc<AtomicUsize>);
impl Drop for Value {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn send_or_drop_vs_recv() {
    for send in [true, false] {
        model(move || {
            let (tx, rx) = oneshot::channel::<u8>();
            let sender = thread::spawn(move || {
                if send {
                    tx.send(7).unwrap();
                } else {
                    drop(tx);
                }
            });
            let (w, count) = waker();
            let mut rx = Box::pin(rx);
            let first = poll(rx.as_mut(), &w);
            sender.join().unwrap();
            let out = match first {
                Poll::Ready(r) => r,
                Poll::Pending => {
                    assert_eq!(count.wakes(), 1, "a pending receiver is woken");
                    match poll(rx.as_mut(), &w) {
                        Poll::Ready(r) => r,
                        Poll::Pending => panic!("receiver still pending after the sender left"),
                    }
                }
            };
            assert_eq!(out.is_ok(), send);
        });
    }
}

#[test]
fn send_vs_receiver_drop_drops_the_value_once() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = oneshot::channel::<Value>();
        let d = drops.clone();
        let sender = thread::spawn(move || tx.send(Value(d)).is_ok());
        drop(rx);
        let _sent = sender.join().unwrap();
        assert_eq!(drops.load(SeqCst), 1, "the value is dropped exactly once");
    });
}
