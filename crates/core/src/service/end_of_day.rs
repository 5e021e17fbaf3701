//! End of day at the dock: the labels bought on a day, those never scanned onto a box (to
//! find or void before the truck leaves), the voids, and how many parcels of each service the
//! driver takes (the count sheet).

use chrono::{FixedOffset, NaiveDate, TimeZone};
use serde::Serialize;

use crate::domain::{ServiceCode, TenantId};
use crate::error::{Error, Result};
use crate::model::{DayLabel, ShipmentStatus, Timestamp};

use super::Fulfillment;

/// How many parcels of one service leave, and how many of its labels were voided.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceCount {
    pub service: ServiceCode,
    /// Boxes bought on the day and not voided: what the driver takes.
    pub parcels: usize,
    pub voided: usize,
}

/// A day at the dock, in the warehouse's own time.
#[derive(Debug, Clone, PartialEq)]
pub struct EndOfDay {
    pub date: NaiveDate,
    pub from: Timestamp,
    pub to: Timestamp,
    /// Bought on the day (voided since or not), oldest first.
    pub bought: Vec<DayLabel>,
    /// Bought on the day, not voided, with a box whose label was never scanned onto it.
    pub not_boxed: Vec<DayLabel>,
    /// Voided on the day (whenever bought).
    pub voided: Vec<DayLabel>,
    /// Every service, in the carrier's order, with what leaves of it.
    pub per_service: Vec<ServiceCount>,
}

impl EndOfDay {
    /// Parcels the driver takes.
    pub fn parcels(&self) -> usize {
        self.per_service.iter().map(|s| s.parcels).sum()
    }
}

fn leaves(l: &DayLabel) -> bool {
    matches!(
        l.shipment.status,
        ShipmentStatus::Created | ShipmentStatus::Delivered
    )
}

/// Sorts a day's labels into the end of day's lists (pure; `labels` as the store answers).
pub fn end_of_day(
    date: NaiveDate,
    from: Timestamp,
    to: Timestamp,
    labels: Vec<DayLabel>,
) -> EndOfDay {
    let in_day = |t: Timestamp| t >= from && t < to;
    let bought: Vec<DayLabel> = labels
        .iter()
        .filter(|l| in_day(l.shipment.created_at))
        .cloned()
        .collect();
    let not_boxed = bought
        .iter()
        .filter(|l| leaves(l) && !l.shipment.boxed())
        .cloned()
        .collect();
    let voided: Vec<DayLabel> = labels
        .into_iter()
        .filter(|l| l.shipment.status == ShipmentStatus::Voided && in_day(l.shipment.updated_at))
        .collect();
    let per_service = ServiceCode::ALL
        .into_iter()
        .map(|service| ServiceCount {
            service,
            parcels: bought
                .iter()
                .filter(|l| l.shipment.service == service && leaves(l))
                .map(|l| l.shipment.parcels())
                .sum(),
            voided: voided
                .iter()
                .filter(|l| l.shipment.service == service)
                .count(),
        })
        .collect();
    EndOfDay {
        date,
        from,
        to,
        bought,
        not_boxed,
        voided,
        per_service,
    }
}

impl Fulfillment {
    /// The end of `date` (today when `None`) at the dock, where the warehouse's clock is
    /// `offset` from UTC.
    pub async fn end_of_day(
        &self,
        tenant: &TenantId,
        date: Option<NaiveDate>,
        offset: FixedOffset,
    ) -> Result<EndOfDay> {
        let date = date.unwrap_or_else(|| self.clock.now().with_timezone(&offset).date_naive());
        let start = |d: NaiveDate| {
            d.and_hms_opt(0, 0, 0)
                .and_then(|t| offset.from_local_datetime(&t).single())
                .map(|t| t.to_utc())
        };
        let (Some(from), Some(to)) = (start(date), date.succ_opt().and_then(start)) else {
            return Err(Error::InvalidField {
                field: "date".into(),
                message: "that day cannot be told in this time zone".into(),
            });
        };
        let labels = self.store.labels_between(tenant, from, to).await?;
        Ok(end_of_day(date, from, to, labels))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Package, ShipmentId, Weight, WeightUnit};
    use crate::model::Shipment;

    fn label(
        service: ServiceCode,
        status: ShipmentStatus,
        bought_h: i64,
        changed_h: i64,
        boxed: bool,
    ) -> DayLabel {
        let day = chrono::DateTime::from_timestamp(1_765_065_600, 0).unwrap(); // a midnight UTC
        let at = |h| day + chrono::Duration::hours(h);
        DayLabel {
            shipment: Shipment {
                id: ShipmentId::generate(),
                order_id: None,
                status,
                carrier: "ups".into(),
                service,
                tracking_number: None,
                estimated_delivery: None,
                package: Package {
                    weight: Weight::new(1.0, WeightUnit::Lb).unwrap(),
                    dimensions: None,
                    r#box: None,
                },
                ship_to: None,
                created_at: at(bought_h),
                updated_at: at(changed_h),
                boxed_at: boxed.then(|| at(bought_h)),
                more_packages: Vec::new(),
            },
            order_name: None,
        }
    }

    #[test]
    fn a_day_is_sorted_into_what_leaves_what_was_not_boxed_and_what_was_voided() {
        use ServiceCode::*;
        use ShipmentStatus::*;
        let day = chrono::DateTime::from_timestamp(1_765_065_600, 0).unwrap();
        let eod = end_of_day(
            day.date_naive(),
            day,
            day + chrono::Duration::days(1),
            vec![
                label(Ground, Created, 9, 9, true),
                label(Ground, Created, 10, 10, false),
                label(NextDay, Delivered, 11, 20, true),
                // Bought today, voided today: not a parcel, one void.
                label(Ground, Voided, 12, 13, false),
                // Bought yesterday, voided today: a void of today's, not bought today.
                label(TwoDay, Voided, -5, 8, false),
            ],
        );
        assert_eq!(eod.bought.len(), 4);
        assert_eq!(eod.not_boxed.len(), 1, "the voided one need not be boxed");
        assert_eq!(eod.voided.len(), 2);
        assert_eq!(eod.parcels(), 3);
        let ground = &eod.per_service[0];
        assert_eq!(
            (ground.service, ground.parcels, ground.voided),
            (Ground, 2, 1)
        );
        let two_day = eod
            .per_service
            .iter()
            .find(|s| s.service == TwoDay)
            .unwrap();
        assert_eq!((two_day.parcels, two_day.voided), (0, 1));
    }
}
