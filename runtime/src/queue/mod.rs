//! asyncio's queues: `Queue<T>` (FIFO), `PriorityQueue<T: Ord>` (lowest
//! first) and `LifoQueue<T>`, with `maxsize`, `task_done`/`join` and
//! `shutdown` (Python 3.13 semantics).
