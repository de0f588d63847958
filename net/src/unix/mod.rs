//! Unix domain sockets (being written).
