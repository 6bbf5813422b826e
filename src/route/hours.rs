//! Opening hours: weekly windows and closures, in a queue's IANA time zone, correct across DST changes.
//!
//! Hours: `"Mon-Fri 08:00-17:00; Sat 09:00-12:00"`, `"Mon-Fri 08:00-12:00, 13:00-17:00"`, `"daily 09:00-17:00"`,
//! `"24/7"`, and windows past midnight (`"Fri 22:00-02:00"` runs into Saturday). Closures: `"2026-12-25"` (the whole
//! day) or `"2026-12-31 12:00-23:59"` (part of it).
//!
//! Local times are wall-clock times in the queue's zone. Whether the queue is open at an instant is decided from
//! the local time at that instant (always well defined). An opening time that does not exist (in the gap of a
//! spring-forward change) opens at the first instant after the gap; one that occurs twice (fall back) opens at the
//! first.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;

/// The farthest ahead the next opening is looked for (closures can run for months, not years).
pub const MAX_LOOKAHEAD_DAYS: i64 = 400;

/// A malformed hours or closure string: a message and the byte offset in the string where it goes wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct HoursError {
    /// What is wrong.
    pub message: String,
    /// Where, in bytes from the start of the string.
    pub offset: usize,
    /// A hint.
    pub help: Option<String>,
}

/// One opening window on given weekdays, `start` inclusive, `end` exclusive; `end <= start` runs past midnight.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Window {
    days: [bool; 7],
    start: NaiveTime,
    end: NaiveTime,
}

/// A closure: a whole day, or part of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    date: NaiveDate,
    part: Option<(NaiveTime, NaiveTime)>,
}

/// A queue's hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    tz: Tz,
    windows: Vec<Window>,
    always: bool,
    closures: Vec<Closure>,
    /// The hours and closures as the author wrote them, for showing the policy back (`handrail effective`).
    written: (Option<String>, Vec<String>),
}

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn error(message: impl Into<String>, offset: usize) -> HoursError {
    HoursError { message: message.into(), offset, help: None }
}

fn day(word: &str, offset: usize) -> Result<usize, HoursError> {
    const FULL: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
    let lower = word.to_ascii_lowercase();
    DAYS.iter()
        .position(|d| d.eq_ignore_ascii_case(word))
        .or_else(|| FULL.iter().position(|f| *f == lower))
        .ok_or_else(|| {
            let nearest =
                crate::diagnostic::did_you_mean(&lower, FULL).and_then(|f| FULL.iter().position(|x| *x == f));
            HoursError {
                message: format!("`{word}` is not a day name"),
                offset,
                help: Some(match nearest.and_then(|i| DAYS.get(i)) {
                    Some(d) => format!("did you mean `{d}`?"),
                    None => "days are written Mon, Tue, Wed, Thu, Fri, Sat, Sun".into(),
                }),
            }
        })
}

fn time(word: &str, offset: usize) -> Result<NaiveTime, HoursError> {
    if word == "24:00" {
        return Ok(NaiveTime::MIN);
    }
    NaiveTime::parse_from_str(word, "%H:%M").map_err(|_| HoursError {
        message: format!("`{word}` is not a time"),
        offset,
        help: Some("write times as HH:MM, for example 08:30".into()),
    })
}

fn time_range(word: &str, offset: usize) -> Result<(NaiveTime, NaiveTime), HoursError> {
    let (a, b) = word.split_once('-').ok_or_else(|| HoursError {
        message: format!("`{word}` is not a time range"),
        offset,
        help: Some("write a range as 08:00-17:00".into()),
    })?;
    let start = time(a, offset)?;
    let end = time(b, offset + a.len() + 1)?;
    // `00:00-24:00` is a whole day (24:00 is the next midnight); any other equal pair is an empty window.
    if start == end && b != "24:00" {
        return Err(error(format!("`{word}` opens and closes at the same time"), offset));
    }
    Ok((start, end))
}

impl Schedule {
    /// A queue that is always open.
    pub fn always(tz: Tz) -> Schedule {
        Schedule { tz, windows: Vec::new(), always: true, closures: Vec::new(), written: (None, Vec::new()) }
    }

    /// Parses weekly hours (`None`: always open) and closures, in zone `tz`. The error says which string is
    /// wrong: `usize::MAX` for the hours, else the index of the closure.
    pub fn parse(tz: Tz, hours: Option<&str>, closed: &[String]) -> Result<Schedule, (usize, HoursError)> {
        let written = (hours.map(str::to_string), closed.to_vec());
        let mut s =
            Schedule { tz, windows: Vec::new(), always: hours.is_none(), closures: Vec::new(), written };
        if let Some(hours) = hours {
            s.parse_hours(hours).map_err(|e| (usize::MAX, e))?;
        }
        for (i, c) in closed.iter().enumerate() {
            s.closures.push(parse_closure(c).map_err(|e| (i, e))?);
        }
        Ok(s)
    }

    fn parse_hours(&mut self, hours: &str) -> Result<(), HoursError> {
        let trimmed = hours.trim();
        if trimmed == "24/7" {
            self.always = true;
            return Ok(());
        }
        if trimmed.is_empty() {
            return Err(error("the hours are empty", 0));
        }
        let mut offset = 0;
        for group in hours.split(';') {
            let lead = group.len() - group.trim_start().len();
            let g = group.trim();
            let at = offset + lead;
            let (days_part, times_part) = g.split_once(' ').ok_or_else(|| HoursError {
                message: format!("`{g}` needs days and times"),
                offset: at,
                help: Some("for example `Mon-Fri 08:00-17:00`".into()),
            })?;
            let mut days = [false; 7];
            if days_part.eq_ignore_ascii_case("daily") {
                days = [true; 7];
            } else {
                let mut day_offset = at;
                for item in days_part.split(',') {
                    match item.split_once('-') {
                        Some((a, b)) => {
                            let (from, to) = (day(a, day_offset)?, day(b, day_offset + a.len() + 1)?);
                            let mut d = from;
                            loop {
                                if let Some(slot) = days.get_mut(d) {
                                    *slot = true;
                                }
                                if d == to {
                                    break;
                                }
                                d = (d + 1) % 7;
                            }
                        }
                        None => {
                            if let Some(slot) = days.get_mut(day(item, day_offset)?) {
                                *slot = true;
                            }
                        }
                    }
                    day_offset += item.len() + 1;
                }
            }
            let mut t_offset = at + days_part.len() + 1;
            for range in times_part.split(',') {
                let lead = range.len() - range.trim_start().len();
                let (start, end) = time_range(range.trim(), t_offset + lead)?;
                self.windows.push(Window { days, start, end });
                t_offset += range.len() + 1;
            }
            offset += group.len() + 1;
        }
        Ok(())
    }

    /// The weekly hours as written (`None`: always open).
    pub fn written_hours(&self) -> Option<&str> {
        self.written.0.as_deref()
    }

    /// The closures as written.
    pub fn written_closures(&self) -> &[String] {
        &self.written.1
    }

    /// The queue's time zone.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    fn closed_at(&self, local: NaiveDateTime) -> bool {
        self.closures.iter().any(|c| {
            c.date == local.date()
                && match c.part {
                    None => true,
                    Some((from, to)) => local.time() >= from && local.time() < to,
                }
        })
    }

    fn in_windows(&self, local: NaiveDateTime) -> bool {
        if self.always {
            return true;
        }
        let today = local.weekday().num_days_from_monday() as usize;
        let yesterday = (today + 6) % 7;
        let t = local.time();
        self.windows.iter().any(|w| {
            let overnight = w.end <= w.start;
            let on = |d: usize| w.days.get(d).copied().unwrap_or(false);
            (on(today) && t >= w.start && (overnight || t < w.end))
                || (overnight && on(yesterday) && t < w.end)
        })
    }

    /// Whether the queue is open at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.tz).naive_local();
        self.in_windows(local) && !self.closed_at(local)
    }

    /// The first instant at or after `at` when the queue is open (`at` itself when open now), or `None` when it
    /// never opens within [`MAX_LOOKAHEAD_DAYS`].
    pub fn next_open(&self, at: DateTime<Utc>) -> Option<DateTime<Tz>> {
        if self.is_open(at) {
            return Some(at.with_timezone(&self.tz));
        }
        let local = at.with_timezone(&self.tz).naive_local();
        // Candidate openings: every window start, every midnight (for 24/7 and overnight windows), every end of a
        // partial closure; the earliest candidate after `at` at which the queue is open.
        let mut times: Vec<NaiveTime> = self.windows.iter().map(|w| w.start).collect();
        times.push(NaiveTime::MIN);
        times.extend(self.closures.iter().filter_map(|c| c.part.map(|p| p.1)));
        times.sort();
        times.dedup();
        for day in 0..MAX_LOOKAHEAD_DAYS {
            let date = local.date() + Duration::days(day);
            for t in &times {
                let Some(instant) = resolve(self.tz, date.and_time(*t)) else { continue };
                if instant.with_timezone(&Utc) > at && self.is_open(instant.with_timezone(&Utc)) {
                    return Some(instant);
                }
            }
        }
        None
    }
}

/// A local wall-clock time as an instant: the earlier of a repeated time, the end of a skipped gap.
fn resolve(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Tz>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t),
        LocalResult::Ambiguous(first, _) => Some(first),
        LocalResult::None => {
            // In a spring-forward gap: the first minute that exists (gaps are at most a few hours).
            (1..=180).find_map(|m| tz.from_local_datetime(&(local + Duration::minutes(m))).earliest())
        }
    }
}

fn parse_closure(s: &str) -> Result<Closure, HoursError> {
    let s = s.trim();
    let (date, part) = match s.split_once(' ') {
        Some((d, r)) => (d, Some(time_range(r.trim(), d.len() + 1)?)),
        None => (s, None),
    };
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| HoursError {
        message: format!("`{date}` is not a date"),
        offset: 0,
        help: Some("write dates as YYYY-MM-DD, for example 2026-12-25".into()),
    })?;
    Ok(Closure { date, part })
}

/// A weekday's English name, for promises ("Monday").
pub fn weekday_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn schedule(tz: Tz, hours: &str, closed: &[&str]) -> Schedule {
        let closed: Vec<String> = closed.iter().map(|c| c.to_string()).collect();
        Schedule::parse(tz, Some(hours), &closed).unwrap()
    }

    #[test]
    fn weekly_hours_and_the_next_opening_across_a_weekend_and_a_holiday() {
        let s = schedule(chrono_tz::America::Chicago, "Mon-Fri 08:00-17:00", &["2026-12-25"]);
        assert!(s.is_open(at("2026-12-21T15:00:00Z"))); // Mon 09:00 CST
        assert!(!s.is_open(at("2026-12-21T23:30:00Z"))); // Mon 17:30
        // Thursday 24 Dec, 18:00: Friday is Christmas, so the next opening is Monday 28th 08:00 CST.
        let next = s.next_open(at("2026-12-25T00:00:00Z")).unwrap();
        assert_eq!(next.to_rfc3339(), "2026-12-28T08:00:00-06:00");
    }

    #[test]
    fn a_window_to_24_00_runs_to_midnight_and_00_00_to_24_00_is_the_whole_day() {
        // 2026-12-05 is a Saturday, 2026-12-07 a Monday.
        let s = schedule(chrono_tz::UTC, "Sat 00:00-24:00; Mon 18:00-24:00", &[]);
        assert!(s.is_open(at("2026-12-05T00:00:00Z")) && s.is_open(at("2026-12-05T23:59:00Z")));
        assert!(!s.is_open(at("2026-12-06T00:00:00Z")) && !s.is_open(at("2026-12-04T23:59:00Z")));
        assert!(s.is_open(at("2026-12-07T23:59:00Z")) && !s.is_open(at("2026-12-08T00:00:00Z")));
        assert!(!s.is_open(at("2026-12-07T17:59:00Z")));
        let (_, err) = Schedule::parse(chrono_tz::UTC, Some("Mon 08:00-08:00"), &[]).unwrap_err();
        assert!(err.message.contains("opens and closes at the same time"), "{}", err.message);
    }

    #[test]
    fn spring_forward_in_chicago_and_berlin() {
        // US: 2026-03-08 02:00 -> 03:00. A queue opening at 02:30 that day opens at 03:00 CDT.
        let s = schedule(chrono_tz::America::Chicago, "daily 02:30-05:00", &[]);
        let next = s.next_open(at("2026-03-08T07:00:00Z")).unwrap(); // 01:00 CST
        assert_eq!(next.to_rfc3339(), "2026-03-08T03:00:00-05:00");
        // EU: 2026-03-29 02:00 -> 03:00 in Berlin. 09:00 opening is 07:00 UTC after the change (08:00 before).
        let s = schedule(chrono_tz::Europe::Berlin, "Mon-Sun 09:00-17:00", &[]);
        assert!(!s.is_open(at("2026-03-29T06:30:00Z")));
        assert!(s.is_open(at("2026-03-29T07:00:00Z")));
        assert!(s.is_open(at("2026-03-28T08:00:00Z")) && !s.is_open(at("2026-03-28T07:30:00Z")));
    }

    #[test]
    fn fall_back_in_chicago_and_berlin() {
        // US: 2026-11-01 02:00 CDT -> 01:00 CST; 01:30 happens twice: a queue opening at 01:30 opens at the first.
        let s = schedule(chrono_tz::America::Chicago, "daily 01:30-04:00", &[]);
        let next = s.next_open(at("2026-11-01T05:00:00Z")).unwrap(); // 00:00 CDT
        assert_eq!(next.to_rfc3339(), "2026-11-01T01:30:00-05:00");
        // EU: 2026-10-25 03:00 CEST -> 02:00 CET. 17:00 closing is 16:00 UTC after the change.
        let s = schedule(chrono_tz::Europe::Berlin, "daily 09:00-17:00", &[]);
        assert!(s.is_open(at("2026-10-25T15:59:00Z")) && !s.is_open(at("2026-10-25T16:00:00Z")));
        assert!(s.is_open(at("2026-10-24T14:59:00Z")) && !s.is_open(at("2026-10-24T15:00:00Z")));
    }

    #[test]
    fn southern_hemisphere_dst() {
        // Sydney: DST ends 2026-04-05 03:00 AEDT -> 02:00 AEST; starts 2026-10-04 02:00 -> 03:00.
        let s = schedule(chrono_tz::Australia::Sydney, "daily 09:00-17:00", &[]);
        // 5 April (AEST, +10): 09:00 is 23:00 UTC the day before; 4 April (AEDT, +11): 09:00 is 22:00 UTC.
        assert!(s.is_open(at("2026-04-04T23:00:00Z")) && !s.is_open(at("2026-04-04T22:59:00Z")));
        assert!(s.is_open(at("2026-04-03T22:00:00Z")) && !s.is_open(at("2026-04-03T21:59:00Z")));
        // 4 October (AEDT, +11): 09:00 is 22:00 UTC the day before; 3 October (AEST, +10): 23:00 UTC.
        assert!(s.is_open(at("2026-10-03T22:00:00Z")) && !s.is_open(at("2026-10-03T21:59:00Z")));
        assert!(s.is_open(at("2026-10-02T23:00:00Z")) && !s.is_open(at("2026-10-02T22:59:00Z")));
    }

    #[test]
    fn overnight_windows_partial_closures_and_always() {
        let s = schedule(chrono_tz::UTC, "Fri 22:00-02:00", &["2026-01-10 00:00-01:00"]);
        assert!(s.is_open(at("2026-01-09T23:00:00Z"))); // Fri 23:00
        assert!(!s.is_open(at("2026-01-10T00:30:00Z"))); // Sat 00:30, partly closed
        assert!(s.is_open(at("2026-01-10T01:30:00Z"))); // Sat 01:30
        assert!(!s.is_open(at("2026-01-10T02:30:00Z")));
        let always = Schedule::parse(chrono_tz::UTC, Some("24/7"), &[]).unwrap();
        assert!(always.is_open(at("2026-01-10T02:30:00Z")));
    }

    #[test]
    fn errors_point_at_the_character() {
        let e = Schedule::parse(chrono_tz::UTC, Some("Mon-Fri 08:00-17:00; Mnday 09:00-12:00"), &[])
            .unwrap_err()
            .1;
        assert_eq!((e.message.as_str(), e.offset), ("`Mnday` is not a day name", 21));
        assert_eq!(e.help.as_deref(), Some("did you mean `Mon`?"));
        let e = Schedule::parse(chrono_tz::UTC, Some("Mon 8am-5pm"), &[]).unwrap_err().1;
        assert_eq!(e.offset, 4);
        let e = Schedule::parse(chrono_tz::UTC, None, &["2026-13-01".into()]).unwrap_err();
        assert_eq!(e.0, 0);
    }
}
