//! uplane sys
