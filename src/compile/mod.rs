//! Stage `compile`: under construction.
