//! Stage `syntax`: under construction.
