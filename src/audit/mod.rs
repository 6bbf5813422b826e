//! Stage `audit`: under construction.
