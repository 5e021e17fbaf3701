//! UPS tracking activity → Packbench tracking events (shared/notes/ups.md §4). Activity types:
//! D delivered, I in transit, M label created, MV voided, X exception, P pickup (real, though not
//! in UPS's table); anything else is kept as `unknown`, never an error.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use packbench_core::ports::{TrackingEvent, TrackingKind, TrackingReport};

use crate::wire::{Activity, TrackResponse};

pub fn kind(activity_type: &str) -> TrackingKind {
    match activity_type.trim().to_ascii_uppercase().as_str() {
        "D" => TrackingKind::Delivered,
        "I" => TrackingKind::InTransit,
        "M" => TrackingKind::LabelCreated,
        "MV" => TrackingKind::Voided,
        "X" => TrackingKind::Exception,
        "P" => TrackingKind::PickedUp,
        _ => TrackingKind::Unknown,
    }
}

/// "HHMMSS", "HH:MM:SS" or the spec example's "74700" (leading zero dropped).
fn time_of(raw: &str) -> Option<NaiveTime> {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    let padded = format!("{digits:0>6}");
    NaiveTime::parse_from_str(&padded, "%H%M%S").ok()
}

fn date_of(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw.trim(), "%Y%m%d").ok()
}

fn event(a: &Activity) -> TrackingEvent {
    // GMT when given, else the local time as if it were UTC (UPS sends both in real data).
    let (date, time) = match (a.gmt_date.as_deref(), a.gmt_time.as_deref()) {
        (Some(d), Some(t)) => (d, t),
        _ => (a.date.as_str(), a.time.as_str()),
    };
    let at = date_of(date)
        .map(|d| NaiveDateTime::new(d, time_of(time).unwrap_or_default()))
        .map(|dt| Utc.from_utc_datetime(&dt))
        .unwrap_or_else(|| Utc.timestamp_millis_opt(0).single().unwrap_or_default());
    let location = a
        .location
        .as_ref()
        .and_then(|l| l.address.as_ref())
        .map(|ad| {
            [&ad.city, &ad.state_province, &ad.country_code]
                .into_iter()
                .flatten()
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(", ")
        });
    let code = match a.status.status_code.trim() {
        "" => a.status.kind.trim().to_string(),
        sc => format!("{}/{sc}", a.status.kind.trim()),
    };
    TrackingEvent {
        at,
        kind: kind(&a.status.kind),
        code,
        description: a.status.description.trim().to_string(),
        location: location.filter(|l| !l.is_empty()),
    }
}

/// Every package's activity of the first shipment, oldest first; a "not found" warning is an
/// empty report (UPS does not see a fresh label for a while).
pub fn report(r: &TrackResponse) -> TrackingReport {
    let Some(shipment) = r.shipment.first() else {
        return TrackingReport::default();
    };
    let Some(package) = shipment.package.first() else {
        return TrackingReport::default();
    };
    // UPS lists newest first; turn it round, then order by time (stable, so scans within
    // the same second keep UPS's order).
    let mut events: Vec<TrackingEvent> = package.activity.iter().rev().map(event).collect();
    events.sort_by_key(|e| e.at);
    let estimated_delivery = ["RDD", "SDD"]
        .into_iter()
        .find_map(|t| package.delivery_date.iter().find(|d| d.kind.trim() == t))
        .and_then(|d| date_of(&d.date));
    TrackingReport {
        events,
        estimated_delivery,
    }
}
