//! Stage `eval`: under construction.
