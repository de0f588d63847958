//! `aio::stream!`: a generator yields its items in order (also across
//! awaits), dropping a partly consumed stream runs the body's destructors
//! at once, errors travel as yielded `Result`s, and nested closures keep
//! their own `yield`. Each test runs on current_thread, multi_thread with
//! 1 worker and with 4.

mod common;

use std::future::poll_fn;
use std::pin::Pin;
use std::time::Duration;

use aio::stream::Stream;
use common::{on_all_flavors, Counter};

async fn next<S: Stream + Unpin>(s: &mut S) -> Option<S::Item> {
    poll_fn(|cx| Pin::new(&mut *s).poll_next(cx)).await
}

#[test]
fn five_items_in_order() {
    on_all_flavors(|_| async {
        let mut s = aio::stream! {
            for i in 0..5 {
                aio::task::yield_now().await;
                yield i;
            }
        };
        let mut got = Vec::new();
        while let Some(i) = next(&mut s).await {
            got.push(i);
        }
        assert_eq!(got, [0, 1, 2, 3, 4]);
        assert_eq!(next(&mut s).await, None, "a finished stream stays finished");
    });
}

#[test]
fn dropping_a_partly_consumed_stream_runs_destructors_at_once() {
    on_all_flavors(|_| async {
        let drops = Counter::new();
        let guard = drops.drop_guard();
        let mut s = aio::stream! {
            let _held = guard;
            let mut i = 0u32;
            loop {
                yield i;
                i += 1;
                aio::sleep(Duration::from_millis(1)).await;
            }
        };
        assert_eq!(next(&mut s).await, Some(0));
        assert_eq!(next(&mut s).await, Some(1));
        assert_eq!(drops.get(), 0);
        drop(s);
        assert_eq!(
            drops.get(),
            1,
            "the generator's locals are dropped with the stream"
        );
    });
}

#[test]
fn errors_are_yielded_results() {
    on_all_flavors(|_| async {
        let parse = |inputs: Vec<&'static str>| {
            aio::stream! {
                for s in inputs {
                    match s.parse::<u8>() {
                        Ok(n) => yield Ok(n),
                        Err(e) => {
                            yield Err(e.to_string());
                            return;
                        }
                    }
                }
            }
        };
        let mut s = parse(vec!["1", "2", "x", "3"]);
        assert_eq!(next(&mut s).await, Some(Ok(1)));
        assert_eq!(next(&mut s).await, Some(Ok(2)));
        assert!(matches!(next(&mut s).await, Some(Err(_))));
        assert_eq!(
            next(&mut s).await,
            None,
            "the generator returned after the error"
        );
    });
}

#[test]
fn stream_is_send_and_runs_in_a_spawned_task() {
    on_all_flavors(|_| async {
        let t = aio::spawn(async {
            let mut s = aio::stream! {
                for i in 0..3u64 {
                    aio::sleep(Duration::from_millis(1)).await;
                    yield i * 10;
                }
            };
            let mut sum = 0;
            while let Some(v) = next(&mut s).await {
                sum += v;
            }
            sum
        });
        assert_eq!(t.await.unwrap(), 30);
    });
}

#[test]
fn nested_closures_and_async_blocks_are_not_rewritten() {
    on_all_flavors(|_| async {
        let mut s = aio::stream! {
            let double = |x: i32| x * 2;
            let later = async { 7 };
            yield double(1);
            yield later.await;
        };
        assert_eq!(next(&mut s).await, Some(2));
        assert_eq!(next(&mut s).await, Some(7));
        assert_eq!(next(&mut s).await, None);
    });
}
