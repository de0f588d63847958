//! Loom models of parking: the unparker protocol (`loom_park`), and the
//! epoll driver's park with readiness delivery (`loom_epoll`).
mod loom_epoll;
mod loom_park;
