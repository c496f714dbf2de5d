//! uplane buf
