//! uplane io
