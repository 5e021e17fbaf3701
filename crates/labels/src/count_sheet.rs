//! The count sheet the driver signs at pickup: how many parcels of each service leave, every
//! tracking number going, and lines for the driver's name, signature and the time. US Letter,
//! for a laser printer; the tracking numbers run on to more pages when there are many.

use packbench_core::model::Timestamp;
use packbench_core::service::EndOfDay;
use printpdf::{Mm, Op, PdfDocument, PdfPage, PdfSaveOptions, Pt, Rect};

use crate::{printable, text};

const PAGE_W: f32 = 215.9;
const PAGE_H: f32 = 279.4;
const MARGIN: f32 = 16.0;
/// Tracking numbers per column and columns per page.
const ROWS: usize = 34;
const COLUMNS: usize = 2;

fn rule(ops: &mut Vec<Op>, x: f32, y: f32, w: f32) {
    let r = Rect::from_xywh(Mm(x).into(), Mm(y).into(), Mm(w).into(), Pt(0.6));
    ops.push(Op::DrawPolygon {
        polygon: r.to_polygon(),
    });
}

/// The sheet for `day`, from `shipper` (its name and address lines).
pub fn count_sheet_pdf(day: &EndOfDay, shipper: &[String], printed: Timestamp) -> Vec<u8> {
    let going: Vec<(String, String, &'static str)> = day
        .bought
        .iter()
        .filter(|l| {
            matches!(
                l.shipment.status,
                packbench_core::model::ShipmentStatus::Created
                    | packbench_core::model::ShipmentStatus::Delivered
            )
        })
        .map(|l| {
            (
                l.shipment
                    .tracking_number
                    .as_ref()
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default(),
                l.order_name.clone().unwrap_or_default(),
                l.shipment.service.name(),
            )
        })
        .collect();
    let per_page = ROWS * COLUMNS;
    let first_page_rows = ROWS / 2 * COLUMNS; // the first page also holds the counts
    let mut chunks: Vec<&[(String, String, &str)]> = Vec::new();
    let (first, rest) = going.split_at(going.len().min(first_page_rows));
    chunks.push(first);
    chunks.extend(rest.chunks(per_page));
    let total_pages = chunks.len();
    let mut pages = Vec::with_capacity(total_pages);
    for (page_no, chunk) in chunks.into_iter().enumerate() {
        let mut ops = Vec::new();
        let mut y = PAGE_H - MARGIN - 6.0;
        text(&mut ops, MARGIN, y, 18.0, true, "UPS pickup count sheet");
        text(
            &mut ops,
            PAGE_W - MARGIN - 52.0,
            y,
            10.0,
            false,
            &format!("Page {} of {total_pages}", page_no + 1),
        );
        y -= 9.0;
        text(
            &mut ops,
            MARGIN,
            y,
            12.0,
            true,
            &day.date.format("%A %-d %B %Y").to_string(),
        );
        text(
            &mut ops,
            PAGE_W - MARGIN - 52.0,
            y,
            8.0,
            false,
            &format!("printed {}", printed.format("%Y-%m-%d %H:%M UTC")),
        );
        for l in shipper.iter().take(4) {
            y -= 5.5;
            text(&mut ops, MARGIN, y, 10.0, false, &printable(l, 60));
        }
        if page_no == 0 {
            y -= 12.0;
            text(&mut ops, MARGIN, y, 11.0, true, "Service");
            text(&mut ops, MARGIN + 90.0, y, 11.0, true, "Parcels");
            y -= 2.5;
            rule(&mut ops, MARGIN, y, 120.0);
            for s in &day.per_service {
                y -= 7.0;
                text(&mut ops, MARGIN, y, 11.0, false, s.service.name());
                text(
                    &mut ops,
                    MARGIN + 95.0,
                    y,
                    12.0,
                    true,
                    &s.parcels.to_string(),
                );
            }
            y -= 3.0;
            rule(&mut ops, MARGIN, y, 120.0);
            y -= 8.0;
            text(&mut ops, MARGIN, y, 13.0, true, "Total parcels");
            text(
                &mut ops,
                MARGIN + 95.0,
                y,
                14.0,
                true,
                &day.parcels().to_string(),
            );
            // What the driver fills in.
            y -= 4.0;
            for label in ["Driver", "Signature", "Time", "Parcels taken"] {
                y -= 11.0;
                text(&mut ops, MARGIN, y, 10.0, false, label);
                rule(&mut ops, MARGIN + 32.0, y - 1.0, 100.0);
            }
            y -= 8.0;
        }
        y -= 8.0;
        text(&mut ops, MARGIN, y, 10.0, true, "Tracking numbers going");
        y -= 2.5;
        rule(&mut ops, MARGIN, y, PAGE_W - 2.0 * MARGIN);
        let top = y;
        for (i, (tracking, order, service)) in chunk.iter().enumerate() {
            let column = i / (chunk.len().div_ceil(COLUMNS)).max(1);
            let row = i % (chunk.len().div_ceil(COLUMNS)).max(1);
            let x = MARGIN + column as f32 * (PAGE_W - 2.0 * MARGIN) / COLUMNS as f32;
            let y = top - 6.0 - row as f32 * 5.5;
            text(&mut ops, x, y, 9.0, true, &printable(tracking, 24));
            text(
                &mut ops,
                x + 42.0,
                y,
                8.0,
                false,
                &printable(&format!("{order} · {service}"), 30),
            );
        }
        if going.is_empty() {
            text(
                &mut ops,
                MARGIN,
                top - 6.0,
                9.0,
                false,
                "No parcels leave today.",
            );
        }
        pages.push(PdfPage::new(Mm(PAGE_W), Mm(PAGE_H), ops));
    }
    let mut warnings = Vec::new();
    PdfDocument::new("Count sheet")
        .with_pages(pages)
        .save(&PdfSaveOptions::default(), &mut warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use packbench_core::domain::{
        Package, ServiceCode, ShipmentId, TrackingNumber, Weight, WeightUnit,
    };
    use packbench_core::model::{DayLabel, Shipment, ShipmentStatus};

    fn day(parcels: usize) -> EndOfDay {
        let midnight = chrono::DateTime::from_timestamp(1_765_065_600, 0).unwrap();
        let labels = (0..parcels)
            .map(|i| {
                let body = format!("999AA10{:08}", 1_000_000 + i);
                let check = TrackingNumber::expected_check_digit(&body).unwrap();
                DayLabel {
                    shipment: Shipment {
                        id: ShipmentId::generate(),
                        order_id: None,
                        status: ShipmentStatus::Created,
                        carrier: "ups".into(),
                        service: if i % 3 == 0 {
                            ServiceCode::NextDay
                        } else {
                            ServiceCode::Ground
                        },
                        tracking_number: Some(
                            TrackingNumber::parse(&format!("1Z{body}{check}")).unwrap(),
                        ),
                        estimated_delivery: None,
                        package: Package {
                            weight: Weight::new(1.0, WeightUnit::Lb).unwrap(),
                            dimensions: None,
                            r#box: None,
                        },
                        ship_to: None,
                        created_at: midnight + chrono::Duration::hours(10),
                        updated_at: midnight + chrono::Duration::hours(10),
                        boxed_at: None,
                        more_packages: Vec::new(),
                    },
                    order_name: Some(format!("#{}", 1001 + i)),
                }
            })
            .collect();
        packbench_core::service::end_of_day(
            midnight.date_naive(),
            midnight,
            midnight + chrono::Duration::days(1),
            labels,
        )
    }

    fn pages(pdf: &[u8]) -> Option<usize> {
        let text = String::from_utf8_lossy(pdf).to_string();
        text.split("/Count ")
            .nth(1)?
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    }

    #[test]
    fn the_sheet_counts_parcels_and_runs_on_for_many_tracking_numbers() {
        let printed = chrono::DateTime::from_timestamp(1_765_130_000, 0).unwrap();
        let shipper = vec!["Acme Shipping".to_owned(), "450 W 33rd St".to_owned()];
        let one = count_sheet_pdf(&day(5), &shipper, printed);
        assert!(one.starts_with(b"%PDF"));
        assert_eq!(pages(&one), Some(1));
        // 34 on the first page, then 68 a page.
        assert_eq!(
            pages(&count_sheet_pdf(&day(34), &shipper, printed)),
            Some(1)
        );
        assert_eq!(
            pages(&count_sheet_pdf(&day(35), &shipper, printed)),
            Some(2)
        );
        assert_eq!(
            pages(&count_sheet_pdf(&day(34 + 68 + 1), &shipper, printed)),
            Some(3)
        );
        assert_eq!(pages(&count_sheet_pdf(&day(0), &shipper, printed)), Some(1));
    }
}
