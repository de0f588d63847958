//! The asyncio tutorial's "queues and workers" program: producers put work
//! items (sleep durations) into a queue, a pool of 3 workers takes them,
//! sleeps, and marks each done; `join` waits for all of them, then the
//! workers are cancelled. With 3 workers the total time is about a third
//! of the sum of the sleeps.
//!
//! Run it with `cargo run --release --example queue_workers`.

use std::time::Duration;

use aio::queue::Queue;
use aio::time::Instant;

/// A small xorshift generator, seeded from the clock (no `rand` needed).
fn random_durations(n: usize) -> Vec<Duration> {
    let mut x = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x9E37_79B9_7F4A_7C15)
        | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Between 5 and 100 ms (asyncio's example: 0.05 to 1.0 s).
            Duration::from_millis(5 + x % 96)
        })
        .collect()
}

async fn worker(name: String, queue: Queue<Duration>) {
    loop {
        // Get a "work item" out of the queue.
        let Ok(sleep_for) = queue.get().await else {
            return;
        };
        // Sleep for the "sleep_for" duration.
        aio::sleep(sleep_for).await;
        // Notify the queue that the "work item" has been processed.
        queue.task_done().expect("one task_done per get");
        println!(
            "{name} has slept for {:.3} seconds",
            sleep_for.as_secs_f64()
        );
    }
}

#[aio::main]
async fn main() {
    // Create a queue that we will use to store our "workload".
    let queue = Queue::new(0);

    // Generate random timings and put them into the queue.
    let sleeps = random_durations(20);
    let total_sleep_time: Duration = sleeps.iter().sum();
    for d in sleeps {
        queue.put_nowait(d).expect("unbounded queue");
    }

    // Create three worker tasks to process the queue concurrently.
    let tasks: Vec<_> = (0..3)
        .map(|i| aio::spawn(worker(format!("worker-{i}"), queue.clone())))
        .collect();

    // Wait until the queue is fully processed.
    let started_at = Instant::now();
    queue.join().await;
    let total_slept_for = started_at.elapsed();

    // Cancel our worker tasks and wait until they are cancelled.
    for t in &tasks {
        t.cancel();
    }
    for t in tasks {
        assert!(t.await.unwrap_err().is_cancelled());
    }

    println!("====");
    println!(
        "3 workers slept in parallel for {:.3} seconds",
        total_slept_for.as_secs_f64()
    );
    println!(
        "total expected sleep time: {:.3} seconds",
        total_sleep_time.as_secs_f64()
    );
}
