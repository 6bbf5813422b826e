//! Stage `route`: under construction.
