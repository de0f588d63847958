//! `aio::stream::StreamExt` (futures-util's, re-exported as API.md says):
//! `.next().await`, `map`, `filter` and `collect` work on every stream aio
//! hands out (`interval`, `as_completed`, `Queue::stream`,
//! `StreamReader::lines`, `stream!`) with no hand-written `poll_fn`
//! (issue 12, item 5). Each test runs on current_thread, multi_thread with
//! 1 worker and with 4.

mod common;

use std::time::Duration;

use aio::stream::{Stream, StreamExt};
use common::on_all_flavors;

#[test]
fn next_map_filter_and_collect_on_every_aio_stream() {
    on_all_flavors(|flavor| async move {
        // interval: three ticks, in order, the first at once.
        let start = aio::time::Instant::now();
        let ticks: Vec<_> = aio::time::interval(Duration::from_millis(1))
            .take(3)
            .collect()
            .await;
        assert_eq!(ticks.len(), 3, "{flavor:?}");
        assert!(ticks[0] >= start, "{flavor:?}");
        assert!(ticks.windows(2).all(|w| w[0] < w[1]), "{flavor:?}");

        // as_completed: completion order, then map and filter.
        let futs = [3u64, 1, 2].map(|n| async move {
            for _ in 0..n {
                aio::task::yield_now().await;
            }
            n
        });
        let mut s = aio::future::as_completed(futs);
        let mut all = Vec::new();
        while let Some(n) = s.next().await {
            all.push(n);
        }
        all.sort_unstable();
        assert_eq!(all, [1, 2, 3], "{flavor:?}");
        let odd: Vec<u64> = aio::future::as_completed([1u64, 2, 3].map(std::future::ready))
            .filter(|n| std::future::ready(n % 2 == 1))
            .map(|n| n * 10)
            .collect()
            .await;
        assert_eq!(odd.len(), 2, "{flavor:?}");
        assert!(odd.contains(&10) && odd.contains(&30), "{flavor:?}");

        // Queue::stream: ends at shutdown.
        let q = aio::queue::Queue::new(0);
        for i in 0..4 {
            q.put_nowait(i).unwrap();
        }
        q.shutdown(false);
        let doubled: Vec<i32> = q.stream().map(|i| i * 2).collect().await;
        assert_eq!(doubled, [0, 2, 4, 6], "{flavor:?}");

        // StreamReader::lines.
        let mut r = aio::net::StreamReader::default();
        r.feed_data(b"a\nb\nc");
        r.feed_eof();
        let mut lines = r.lines();
        assert_eq!(lines.next().await.unwrap().unwrap(), b"a\n", "{flavor:?}");
        let rest: Vec<Vec<u8>> = lines.map(|l| l.unwrap()).collect().await;
        assert_eq!(rest, [b"b\n".to_vec(), b"c".to_vec()], "{flavor:?}");

        // stream!
        let gen = aio::stream! {
            for i in 0..5 {
                aio::task::yield_now().await;
                yield i;
            }
        };
        let evens: Vec<i32> = gen
            .filter(|i| std::future::ready(i % 2 == 0))
            .collect()
            .await;
        assert_eq!(evens, [0, 2, 4], "{flavor:?}");
    });
}

/// `Stream` and `StreamExt` are the ecosystem's own traits: a function
/// written against futures' names accepts aio's streams.
#[test]
fn aio_streams_are_futures_streams() {
    fn count<S: futures::Stream + Unpin>(s: S) -> impl std::future::Future<Output = usize> {
        futures::StreamExt::count(s)
    }
    fn is_stream<S: Stream>(_: &S) {}
    on_all_flavors(|flavor| async move {
        let q = aio::queue::Queue::new(0);
        q.put_nowait(1).unwrap();
        q.put_nowait(2).unwrap();
        q.shutdown(false);
        let s = q.stream();
        is_stream(&s);
        assert_eq!(count(s).await, 2, "{flavor:?}");
    });
}
