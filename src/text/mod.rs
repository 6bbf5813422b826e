//! Stage `text`: under construction.
