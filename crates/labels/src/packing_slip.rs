//! The packing slip that goes in the box: the order, who it goes to, what is in it, and the
//! order's number as a Code 128 the receiving end (or a returns desk) can scan. US Letter, for
//! a laser printer.

use barcoders::sym::code128::Code128;
use packbench_core::model::{Order, Timestamp};
use printpdf::{Mm, Op, PdfDocument, PdfPage, PdfSaveOptions, Pt, Rect};

use crate::{printable, text};

const PAGE_W: f32 = 215.9;
const PAGE_H: f32 = 279.4;
const MARGIN: f32 = 16.0;
const ROWS_PER_PAGE: usize = 28;

fn bars(ops: &mut Vec<Op>, x: f32, y: f32, module_mm: f32, height_mm: f32, data: &str) {
    let Ok(modules) = Code128::new(format!("Ɓ{data}")).map(|c| c.encode()) else {
        return;
    };
    for (i, m) in modules.iter().enumerate() {
        if *m == 1 {
            let r = Rect::from_xywh(
                Mm(x + i as f32 * module_mm).into(),
                Mm(y).into(),
                Mm(module_mm).into(),
                Mm(height_mm).into(),
            );
            ops.push(Op::DrawPolygon {
                polygon: r.to_polygon(),
            });
        }
    }
}

fn line(ops: &mut Vec<Op>, y: f32) {
    let r = Rect::from_xywh(
        Mm(MARGIN).into(),
        Mm(y).into(),
        Mm(PAGE_W - 2.0 * MARGIN).into(),
        Pt(0.5),
    );
    ops.push(Op::DrawPolygon {
        polygon: r.to_polygon(),
    });
}

pub fn packing_slip_pdf(order: &Order, shop: &str, printed: Timestamp) -> Vec<u8> {
    let lines = order.lines();
    let chunks: Vec<_> = if lines.is_empty() {
        vec![&lines[..0]]
    } else {
        lines.chunks(ROWS_PER_PAGE).collect()
    };
    let total_pages = chunks.len();
    let mut pages = Vec::with_capacity(total_pages);
    for (page_no, chunk) in chunks.into_iter().enumerate() {
        let mut ops = Vec::new();
        let mut y = PAGE_H - MARGIN - 6.0;
        text(&mut ops, MARGIN, y, 18.0, true, "Packing slip");
        text(
            &mut ops,
            PAGE_W - MARGIN - 70.0,
            y,
            10.0,
            false,
            &printable(shop, 40),
        );
        y -= 10.0;
        text(
            &mut ops,
            MARGIN,
            y,
            14.0,
            true,
            &format!("Order {}", printable(&order.name, 30)),
        );
        text(
            &mut ops,
            PAGE_W - MARGIN - 70.0,
            y,
            9.0,
            false,
            &format!(
                "Printed {} | page {} of {}",
                printed.format("%Y-%m-%d"),
                page_no + 1,
                total_pages
            ),
        );
        y -= 20.0;
        bars(&mut ops, MARGIN, y, 0.33, 14.0, &order.name);
        y -= 6.0;
        text(&mut ops, MARGIN, y, 8.0, false, &printable(&order.name, 30));
        // Ship to, on the right of the bar code.
        let mut ay = y + 18.0;
        text(&mut ops, 120.0, ay, 9.0, true, "Ship to");
        if let Some(a) = &order.ship_to {
            let city = [
                a.city.as_deref(),
                a.state.as_deref(),
                a.postal_code.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
            let who = a.name.as_deref().or(order.customer_name.as_deref());
            let rows = who
                .into_iter()
                .map(str::to_string)
                .chain(a.company.clone())
                .chain(a.lines.iter().cloned())
                .chain(std::iter::once(city))
                .chain(a.country.clone());
            for r in rows {
                ay -= 4.5;
                text(&mut ops, 120.0, ay, 9.0, false, &printable(&r, 45));
            }
        }
        y -= 16.0;
        for (x, h) in [
            (MARGIN, "SKU"),
            (MARGIN + 40.0, "Item"),
            (PAGE_W - MARGIN - 40.0, "Ordered"),
            (PAGE_W - MARGIN - 18.0, "Packed"),
        ] {
            text(&mut ops, x, y, 9.0, true, h);
        }
        y -= 2.5;
        line(&mut ops, y);
        for l in chunk {
            y -= 6.5;
            text(
                &mut ops,
                MARGIN,
                y,
                9.0,
                false,
                &printable(l.sku.as_str(), 20),
            );
            text(
                &mut ops,
                MARGIN + 40.0,
                y,
                9.0,
                false,
                &printable(&l.title, 60),
            );
            text(
                &mut ops,
                PAGE_W - MARGIN - 34.0,
                y,
                10.0,
                true,
                &l.quantity.to_string(),
            );
            text(
                &mut ops,
                PAGE_W - MARGIN - 12.0,
                y,
                10.0,
                true,
                &l.picked.to_string(),
            );
            line(&mut ops, y - 2.0);
        }
        if page_no + 1 == total_pages {
            let units: u32 = lines.iter().map(|l| l.quantity).sum();
            y -= 10.0;
            text(
                &mut ops,
                MARGIN,
                y,
                10.0,
                true,
                &format!("{} lines, {units} units", lines.len()),
            );
        }
        pages.push(PdfPage::new(Mm(PAGE_W), Mm(PAGE_H), ops));
    }
    let mut warnings = Vec::new();
    PdfDocument::new("Packing slip")
        .with_pages(pages)
        .save(&PdfSaveOptions::default(), &mut warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use packbench_core::domain::{OrderId, Sku};
    use packbench_core::workflow::{OrderLine, OrderState, OrderStatus};

    fn order(lines: usize) -> Order {
        Order {
            state: OrderState {
                id: OrderId::generate(),
                status: OrderStatus::Packed,
                assigned_to: None,
                lines: (0..lines)
                    .map(|i| OrderLine {
                        line_no: i as u32 + 1,
                        sku: Sku::parse(&format!("SKU-{i}")).unwrap(),
                        barcode: None,
                        title: "Enamel mug".into(),
                        quantity: 2,
                        picked: 2,
                    })
                    .collect(),
                package: None,
                more_boxes: Vec::new(),
                shipment_id: None,
                cancel_reason: None,
                labeling: None,
            },
            name: "#1001".into(),
            external_id: None,
            version: 1,
            customer_name: Some("Ada Lovelace".into()),
            ship_to: None,
            created_at: chrono::DateTime::from_timestamp(1_765_000_000, 0).unwrap_or_default(),
            updated_at: chrono::DateTime::from_timestamp(1_765_000_000, 0).unwrap_or_default(),
        }
    }

    #[test]
    fn a_slip_takes_a_page_per_28_lines() {
        let pages = |pdf: &[u8]| {
            let text = String::from_utf8_lossy(pdf).to_string();
            text.split("/Count ")
                .nth(1)
                .and_then(|r| {
                    r.split(|c: char| !c.is_ascii_digit())
                        .next()
                        .map(str::to_owned)
                })
                .and_then(|n| n.parse::<usize>().ok())
        };
        let pdf = packing_slip_pdf(
            &order(3),
            "Acme",
            chrono::DateTime::from_timestamp(1_765_000_000, 0).unwrap_or_default(),
        );
        assert!(pdf.starts_with(b"%PDF"));
        assert_eq!(pages(&pdf), Some(1));
        assert_eq!(
            pages(&packing_slip_pdf(
                &order(28),
                "Acme",
                chrono::DateTime::from_timestamp(1_765_000_000, 0).unwrap_or_default()
            )),
            Some(1)
        );
        assert_eq!(
            pages(&packing_slip_pdf(
                &order(29),
                "Acme",
                chrono::DateTime::from_timestamp(1_765_000_000, 0).unwrap_or_default()
            )),
            Some(2)
        );
    }
}
