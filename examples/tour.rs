//! A tour of aio through the asyncio tutorial programs (the same programs
//! as `tests/seed_programs.rs`): each section runs one program and prints
//! what happened and how long it took.
//!
//! Run it with `cargo run --release --example tour`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aio::time::Instant;

/// Tutorial seconds are scaled down so the tour takes a few seconds.
const SECOND: Duration = Duration::from_millis(200);

fn secs(d: Duration) -> String {
    format!(
        "{:.2} tutorial-s ({:.0} ms)",
        d.as_secs_f64() / SECOND.as_secs_f64(),
        d.as_secs_f64() * 1e3
    )
}

fn section(title: &str) {
    println!("\n== {title}");
}

/// 1. Hello, pause, world — with `aio::run`, then through an explicit
///    runtime (`block_on` = `run_until_complete`, then shutdown = `close`).
fn hello_pause_world() {
    section("1. Hello, pause, world");
    async fn main_coro() {
        println!("Hello ...");
        aio::sleep(SECOND).await;
        println!("... World!");
    }
    let t0 = std::time::Instant::now();
    aio::run(main_coro());
    println!("aio::run took {}", secs(t0.elapsed()));
    let rt = aio::runtime::Runtime::new().expect("build a runtime");
    let t0 = std::time::Instant::now();
    rt.block_on(main_coro());
    rt.shutdown(Duration::from_secs(1));
    println!(
        "explicit runtime (block_on, then shutdown) took {}",
        secs(t0.elapsed())
    );
}

async fn say_after(delay: Duration, what: &str) {
    aio::sleep(delay).await;
    println!("{what}");
}

/// 2. say_after: sequential awaits vs tasks created first.
fn say_after_sequential_vs_concurrent() {
    section("2. say_after: sequential vs concurrent");
    aio::run(async {
        let start = Instant::now();
        println!("started at 0");
        say_after(SECOND, "hello").await;
        say_after(2 * SECOND, "world").await;
        println!(
            "sequential: finished after {} (expect ~3)",
            secs(start.elapsed())
        );

        let start = Instant::now();
        let task1 = aio::create_task(say_after(SECOND, "hello"));
        let task2 = aio::create_task(say_after(2 * SECOND, "world"));
        task1.await.unwrap();
        task2.await.unwrap();
        println!(
            "with create_task: finished after {} (expect ~2)",
            secs(start.elapsed())
        );
    });
}

/// 3. gather: outputs in argument order, whatever the completion order.
fn gather() {
    section("3. gather");
    async fn go(delay: u32, what: &'static str) -> String {
        aio::sleep(SECOND * delay).await;
        format!("{what}({delay})")
    }
    aio::run(async {
        let start = Instant::now();
        let (a, b) = aio::gather!(go(2, "hello"), go(1, "world")).await;
        println!(
            "gather!(go(2, \"hello\"), go(1, \"world\")) = {:?} after {} (expect argument order, ~2)",
            [a, b],
            secs(start.elapsed())
        );
    });
}

/// 4 and 5. Futures from tasks, and await returning values.
fn await_returns_values() {
    section("4-5. Task results and awaited values");
    async fn long_running_task() -> &'static str {
        aio::sleep(SECOND / 2).await;
        "Result"
    }
    async fn async_add(a: i32, b: i32) -> i32 {
        a + b
    }
    aio::run(async {
        let task = aio::create_task(long_running_task());
        println!("Task result: {}", task.await.unwrap());
        println!("async_add(100, 200) = {}", async_add(100, 200).await);
    });
}

/// 6. A task runs only when its creator yields (current_thread: asyncio's
///    exact order).
fn task_runs_when_creator_yields() {
    section("6. A task runs only when the creator yields");
    let rt = aio::runtime::Builder::new_current_thread()
        .build()
        .expect("build a runtime");
    rt.block_on(async {
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        let counter = aio::create_task(async move {
            for i in 0..10 {
                l.lock().unwrap().push(i);
            }
            "count done"
        });
        println!(
            "Hello Coroutine World (counted so far: {:?})",
            log.lock().unwrap()
        );
        aio::sleep(SECOND / 4).await;
        println!(
            "after main awaited sleep, counted: {:?}",
            log.lock().unwrap()
        );
        let t0 = Instant::now();
        println!(
            "awaiting the finished task: {:?} in {:?}",
            counter.await.unwrap(),
            t0.elapsed()
        );
    });
}

/// 7. Task life cycle: done, cancelled, cancel, result, names, all_tasks.
fn task_life_cycle() {
    section("7. Task life cycle");
    let rt = aio::runtime::Builder::new_current_thread()
        .build()
        .expect("build a runtime");
    rt.block_on(async {
        let mut task = aio::task::Builder::new().name("sleeper").spawn(async {
            aio::sleep(SECOND).await;
            42
        });
        println!(
            "created {:?}: done={} result={:?}",
            task.name(),
            task.is_done(),
            task.result().map_err(|e| e.to_string())
        );
        println!(
            "all_tasks: {:?}",
            aio::task::all_tasks()
                .iter()
                .map(|t| t.name())
                .collect::<Vec<_>>()
        );
        aio::task::yield_now().await;
        task.set_name("renamed sleeper");
        println!("running: name={:?} done={}", task.name(), task.is_done());
        println!("cancel() -> {}", task.cancel());
        let out = (&mut task).await;
        println!(
            "after cancel: done={} cancelled={} outcome={:?}",
            task.is_done(),
            task.is_cancelled(),
            out.map_err(|e| e.to_string())
        );
        println!("cancel() again once done -> {}", task.cancel());
        let mut t2 = aio::spawn(async { 7 });
        (&mut t2).await.unwrap_or_default();
        println!(
            "a finished task's result() -> {:?} (the output was taken by the await)",
            t2.result().map_err(|e| e.is_invalid_state())
        );
    });
}

/// 8. Keeping background tasks alive: a set, emptied by done callbacks.
fn background_tasks_with_done_callbacks() {
    section("8. Background tasks removed from a set by done callbacks");
    aio::run(async {
        let live: Arc<Mutex<HashSet<aio::task::TaskId>>> = Arc::default();
        for i in 0..10u32 {
            let task = aio::create_task(async move { aio::sleep(SECOND / 10 * i).await });
            live.lock().unwrap().insert(task.id());
            let l = live.clone();
            task.add_done_callback(move |t| {
                l.lock().unwrap().remove(&t.id());
            });
            // Dropping the handle detaches: the task keeps running.
        }
        println!(
            "in the set right after creation: {}",
            live.lock().unwrap().len()
        );
        let start = Instant::now();
        while !live.lock().unwrap().is_empty() {
            aio::sleep(SECOND / 20).await;
        }
        println!("set empty after {}", secs(start.elapsed()));
    });
}

/// 9. wait_for and wait.
fn wait_and_wait_for() {
    section("9. wait_for and wait");
    use aio::future::{wait, ReturnWhen};
    aio::run(async {
        let start = Instant::now();
        let eternity = aio::create_task(async {
            aio::sleep(SECOND * 3600).await;
            "done"
        });
        let eternity_ref = eternity.task_ref();
        match aio::wait_for(eternity, SECOND).await {
            Ok(v) => println!("wait_for: {v:?}?"),
            Err(e) => println!(
                "wait_for(eternity(), 1): {e} after {} (expect ~1)",
                secs(start.elapsed())
            ),
        }
        while !eternity_ref.is_done() {
            aio::task::yield_now().await; // a worker drops its future
        }
        println!(
            "the timed-out task was cancelled: {}",
            eternity_ref.is_cancelled()
        );

        let start = Instant::now();
        let tasks = [3u32, 1, 2].map(|d| {
            aio::create_task(async move {
                aio::sleep(SECOND * d).await;
                d
            })
        });
        let (done, pending) = wait(tasks, ReturnWhen::FirstCompleted, None).await;
        println!(
            "wait(FIRST_COMPLETED): {} done, {} pending after {} (expect 1, 2, ~1)",
            done.len(),
            pending.len(),
            secs(start.elapsed())
        );
        let (done, pending) = wait(pending, ReturnWhen::AllCompleted, SECOND / 2).await;
        println!(
            "wait(ALL_COMPLETED, timeout=0.5): {} done, {} pending (a timeout cancels nothing)",
            done.len(),
            pending.len()
        );
        let (done, _) = wait(pending, ReturnWhen::AllCompleted, None).await;
        println!(
            "wait(ALL_COMPLETED): {} done after {} (expect ~3)",
            done.len(),
            secs(start.elapsed())
        );
    });
}

/// Structured concurrency: a TaskGroup waits for its children, and the
/// first failure cancels the rest.
fn task_group() {
    section("TaskGroup (asyncio 3.11)");
    use aio::task::{task_group, TaskGroup};
    aio::run(async {
        let start = Instant::now();
        let r = task_group(async |tg: &TaskGroup<String>| {
            let a = tg.spawn(async {
                aio::sleep(SECOND).await;
                Ok::<_, String>(1)
            });
            let b = tg.spawn(async {
                aio::sleep(SECOND * 2).await;
                Ok::<_, String>(2)
            });
            Ok(a.await.unwrap() + b.await.unwrap())
        })
        .await;
        println!(
            "two children: {:?} after {} (expect Ok(3), ~2)",
            r,
            secs(start.elapsed())
        );
        let start = Instant::now();
        let r: Result<(), _> = task_group(async |tg: &TaskGroup<String>| {
            let _ = tg.spawn(async {
                aio::sleep(SECOND * 3600).await;
                Ok::<_, String>(())
            });
            let _ = tg.spawn(async {
                aio::sleep(SECOND).await;
                Err::<(), _>("child failed".to_string())
            });
            Ok(())
        })
        .await;
        println!(
            "a failing child: {:?} after {} (the hour-long sibling was cancelled at ~1)",
            r.map_err(|e| e.to_string()),
            secs(start.elapsed())
        );
    });
}

/// 12. A queue of work items and a pool of workers.
fn queue_of_workers() {
    section("12. Queues and workers");
    use aio::queue::Queue;
    aio::run(async {
        let queue: Queue<u32> = Queue::new(0);
        // Work items: how long each one takes, in tenths of a tutorial second.
        let items = [3u32, 9, 1, 7, 5, 2, 8, 4, 6, 2];
        let total: u32 = items.iter().sum();
        for i in items {
            queue.put_nowait(i).unwrap();
        }
        let start = Instant::now();
        let workers: Vec<_> = (0..3)
            .map(|n| {
                let q = queue.clone();
                aio::task::Builder::new()
                    .name(format!("worker-{n}"))
                    .spawn(async move {
                        let mut worked = 0;
                        while let Ok(tenths) = q.get().await {
                            aio::sleep(SECOND * tenths / 10).await;
                            worked += tenths;
                            q.task_done().unwrap();
                        }
                        worked
                    })
            })
            .collect();
        queue.join().await;
        let elapsed = start.elapsed();
        for w in &workers {
            w.cancel();
        }
        println!(
            "3 workers did {} tutorial-s of work in {} (sequential would take {:.1})",
            f64::from(total) / 10.0,
            secs(elapsed),
            f64::from(total) / 10.0
        );
    });
}

/// 13. Locks, events, semaphores and context variables.
fn locks_and_context() {
    section("13. Lock, Event, Semaphore, context variables");
    use aio::context::ContextVar;
    use aio::sync::{Event, Lock, Semaphore};
    use std::sync::atomic::{AtomicUsize, Ordering};
    static REQUEST_ID: ContextVar<u32> = ContextVar::new("request_id");
    aio::run(async {
        let lock = Arc::new(Lock::new());
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (lock, inside, most) = (lock.clone(), inside.clone(), most.clone());
                aio::create_task(async move {
                    let _held = lock.lock().await;
                    let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(n, Ordering::SeqCst);
                    aio::sleep(SECOND / 100).await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        println!(
            "Lock: 10 tasks, at most {} inside at once",
            most.load(Ordering::SeqCst)
        );

        let event = Arc::new(Event::new());
        let waiters: Vec<_> = (0..3)
            .map(|i| {
                let e = event.clone();
                aio::create_task(async move {
                    e.wait().await;
                    i
                })
            })
            .collect();
        event.set();
        let mut woke = Vec::new();
        for w in waiters {
            woke.push(w.await.unwrap());
        }
        println!("Event: set() woke waiters {woke:?}");

        let sem = Arc::new(Semaphore::new(2));
        let start = Instant::now();
        let jobs: Vec<_> = (0..4)
            .map(|_| {
                let sem = sem.clone();
                aio::create_task(async move {
                    let _permit = sem.acquire().await.unwrap();
                    aio::sleep(SECOND).await;
                })
            })
            .collect();
        for j in jobs {
            j.await.unwrap();
        }
        println!(
            "Semaphore(2): 4 jobs of 1 tutorial-s took {} (expect ~2)",
            secs(start.elapsed())
        );

        REQUEST_ID.set(1);
        let child = aio::create_task(async {
            let seen = REQUEST_ID.get();
            REQUEST_ID.set(99); // changes only the child's copy
            seen
        });
        println!(
            "ContextVar: the child saw {:?}; after it set 99, main still sees {:?}",
            child.await.unwrap(),
            REQUEST_ID.get()
        );
    });
}

/// to_thread: blocking work off the workers.
fn to_thread() {
    section("Blocking work with to_thread");
    aio::run(async {
        let start = Instant::now();
        let jobs: Vec<_> = (0..4)
            .map(|i| {
                aio::create_task(aio::to_thread(move || {
                    std::thread::sleep(SECOND);
                    i * 10
                }))
            })
            .collect();
        let mut out = Vec::new();
        for j in jobs {
            out.push(j.await.unwrap());
        }
        println!(
            "4 blocking jobs of 1 tutorial-s each: {out:?} in {} (expect ~1)",
            secs(start.elapsed())
        );
    });
}

/// Seed 14: an I/O-bound job. An echo server that takes one tutorial
/// second per line; ten clients over loopback, first one after another,
/// then concurrently.
fn echo_over_loopback() {
    section("An I/O-bound job: echo over loopback");
    aio::run(async {
        let server = aio::net::start_server(
            |mut reader, writer| async move {
                while let Ok(line) = reader.readline().await {
                    if line.is_empty() {
                        break;
                    }
                    aio::sleep(SECOND).await; // "slow" server work
                    writer.write(&line);
                    if writer.drain().await.is_err() {
                        break;
                    }
                }
            },
            "127.0.0.1",
            0,
        )
        .await
        .expect("start_server on 127.0.0.1");
        let port = server.local_addrs()[0].port();
        println!("echo server listening on 127.0.0.1:{port}");

        async fn round_trip(port: u16, i: usize) -> std::io::Result<String> {
            let (mut reader, writer) = aio::net::open_connection("127.0.0.1", port).await?;
            writer.write(format!("hello {i}\n").as_bytes());
            writer.drain().await?;
            let line = reader.readline().await?;
            writer.close();
            Ok(String::from_utf8_lossy(&line).trim_end().to_string())
        }

        let start = Instant::now();
        let mut got = Vec::new();
        for i in 0..3 {
            got.push(round_trip(port, i).await.expect("echo"));
        }
        println!(
            "3 round trips one after another: {got:?} in {} (expect ~3)",
            secs(start.elapsed())
        );

        let start = Instant::now();
        let tasks: Vec<_> = (0..10)
            .map(|i| aio::create_task(round_trip(port, i)))
            .collect();
        let mut got = Vec::new();
        for t in tasks {
            got.push(t.await.unwrap().expect("echo"));
        }
        println!(
            "10 round trips concurrently: {} echoes (first {:?}, last {:?}) in {} (expect ~1)",
            got.len(),
            got[0],
            got[9],
            secs(start.elapsed())
        );
        server.close();
        server.close_clients();
        server.wait_closed().await;
        println!("server closed; every handler finished");
    });
}

fn main() {
    println!("aio tour: the asyncio tutorial programs on aio (1 tutorial second = {SECOND:?})");
    hello_pause_world();
    say_after_sequential_vs_concurrent();
    gather();
    await_returns_values();
    task_runs_when_creator_yields();
    task_life_cycle();
    background_tasks_with_done_callbacks();
    wait_and_wait_for();
    task_group();
    queue_of_workers();
    locks_and_context();
    to_thread();
    echo_over_loopback();
}
