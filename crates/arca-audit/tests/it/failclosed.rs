//! failclosed
