//! UDP sockets (being written).
