//! The pinned clock of the integration tests: `decide` takes the time explicitly, and a test must not depend on
//! when it runs. A Monday afternoon (UTC), inside most business hours, as `handrail test` pins by default.

use chrono::{DateTime, Utc};

/// 2026-01-05T15:00:00Z, for events that carry no time of their own.
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_625_200, 0).unwrap_or_default()
}
