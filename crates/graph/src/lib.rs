//! uplane graph
