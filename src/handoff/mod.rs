//! Stage `handoff`: under construction.
