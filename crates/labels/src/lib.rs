//! Documents Packbench prints: the combined pick list as a PDF for a laser printer, and raster
//! labels as ZPL with a Z64 graphic field (`zpl`). (GIF/PNG label conversion, 4x6 PDFs and
//! packing slips come with the UPS issue.) Pure functions: data in, bytes out.

pub mod convert;
pub mod converter;
pub mod count_sheet;
pub mod packing_slip;
pub mod zpl;
pub mod zpl_render;

use packbench_core::model::Timestamp;
use packbench_core::service::{PickList, StockAtLocation};
use printpdf::{
    BuiltinFont, Line, LinePoint, Mm, Op, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions,
    Point, Pt, TextItem,
};

/// US Letter, portrait.
const PAGE_W: f32 = 215.9;
const PAGE_H: f32 = 279.4;
const MARGIN: f32 = 14.0;
const ROW_H: f32 = 6.2;

/// Column left edges (mm) and widths in characters.
const COLS: [(f32, usize); 5] = [
    (MARGIN, 10),
    (MARGIN + 26.0, 16),
    (MARGIN + 64.0, 30),
    (MARGIN + 128.0, 5),
    (MARGIN + 142.0, 28),
];

/// Rows that fit below the page header.
const ROWS_PER_PAGE: usize = ((PAGE_H - 2.0 * MARGIN - 30.0) / ROW_H) as usize;

/// Pages a pick list of `rows` rows takes (an empty list still prints one page saying so).
pub fn page_count(rows: usize) -> usize {
    rows.div_ceil(ROWS_PER_PAGE).max(1)
}

/// The builtin PDF fonts speak WinAnsi; anything else prints as `?` rather than garbage.
pub(crate) fn printable(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
        .collect();
    if out.chars().count() > max {
        out = out.chars().take(max.saturating_sub(1)).collect::<String>() + "~";
    }
    out
}

pub(crate) fn text(ops: &mut Vec<Op>, x: f32, y: f32, size: f32, bold: bool, s: &str) {
    let font = if bold {
        BuiltinFont::HelveticaBold
    } else {
        BuiltinFont::Helvetica
    };
    ops.push(Op::StartTextSection);
    ops.push(Op::SetFont {
        font: PdfFontHandle::Builtin(font),
        size: Pt(size),
    });
    ops.push(Op::SetTextCursor {
        pos: Point::new(Mm(x), Mm(y)),
    });
    ops.push(Op::ShowText {
        items: vec![TextItem::Text(s.to_owned())],
    });
    ops.push(Op::EndTextSection);
}

fn rule(ops: &mut Vec<Op>, y: f32) {
    let p = |x: f32| LinePoint {
        p: Point::new(Mm(x), Mm(y)),
        bezier: false,
    };
    ops.push(Op::DrawLine {
        line: Line {
            points: vec![p(MARGIN), p(PAGE_W - MARGIN)],
            is_closed: false,
        },
    });
}

/// The rows of a pick list as printed: location, SKU, title, quantity, and which orders.
pub fn pick_list_rows(list: &PickList) -> Vec<[String; 5]> {
    list.entries
        .iter()
        .map(|e| {
            let orders = e
                .orders
                .iter()
                .map(|o| format!("{} x{}", o.order_name, o.quantity))
                .collect::<Vec<_>>()
                .join(", ");
            let flag = match e.stock {
                StockAtLocation::InStock => "",
                StockAtLocation::Short => " (SHORT)",
                StockAtLocation::OutOfStock => " (OUT)",
                StockAtLocation::NoStockRecorded => " (NO STOCK RECORD)",
            };
            [
                e.location.clone().unwrap_or_else(|| "?".into()),
                e.sku.clone(),
                format!("{}{flag}", e.title),
                e.quantity.to_string(),
                orders,
            ]
        })
        .collect()
}

/// A printable pick list: a page header, then one row per SKU and location in walking order.
pub fn pick_list_pdf(list: &PickList, tenant: &str, generated: Timestamp) -> Vec<u8> {
    let rows = pick_list_rows(list);
    let per_page = ROWS_PER_PAGE;
    let pages_needed = page_count(rows.len());
    let chunks: Vec<&[[String; 5]]> = if rows.is_empty() {
        vec![&[]]
    } else {
        rows.chunks(per_page).collect()
    };
    let mut pages = Vec::with_capacity(pages_needed);
    for (page_no, chunk) in chunks.into_iter().enumerate() {
        let mut ops = Vec::new();
        let mut y = PAGE_H - MARGIN - 6.0;
        text(&mut ops, MARGIN, y, 16.0, true, "Pick list");
        text(
            &mut ops,
            MARGIN + 40.0,
            y,
            9.0,
            false,
            &printable(
                &format!(
                    "{tenant} | {} orders | {} units | {} | page {} of {}",
                    list.orders.len(),
                    list.total_units,
                    generated.format("%Y-%m-%d %H:%M UTC"),
                    page_no + 1,
                    pages_needed
                ),
                120,
            ),
        );
        y -= 10.0;
        for (i, h) in ["Location", "SKU", "Item", "Qty", "Orders"]
            .iter()
            .enumerate()
        {
            text(&mut ops, COLS[i].0, y, 9.0, true, h);
        }
        y -= 2.0;
        rule(&mut ops, y);
        y -= ROW_H - 1.0;
        for row in chunk {
            for (i, cell) in row.iter().enumerate() {
                text(
                    &mut ops,
                    COLS[i].0,
                    y,
                    if i == 0 || i == 3 { 11.0 } else { 9.0 },
                    i == 0 || i == 3,
                    &printable(cell, COLS[i].1),
                );
            }
            rule(&mut ops, y - 2.0);
            y -= ROW_H;
        }
        if rows.is_empty() {
            text(
                &mut ops,
                MARGIN,
                y,
                11.0,
                false,
                "Nothing left to pick for these orders.",
            );
        }
        pages.push(PdfPage::new(Mm(PAGE_W), Mm(PAGE_H), ops));
    }
    let mut warnings = Vec::new();
    PdfDocument::new("Pick list")
        .with_pages(pages)
        .save(&PdfSaveOptions::default(), &mut warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use packbench_core::domain::OrderId;
    use packbench_core::service::{PickListEntry, PickListOrder};

    fn list(n: usize) -> PickList {
        let entries = (0..n)
            .map(|i| PickListEntry {
                location: Some(format!("A-{i}")),
                sku: format!("SKU-{i}"),
                title: "Mug — blue".into(),
                barcode: None,
                quantity: 2,
                stock: if i == 0 {
                    StockAtLocation::Short
                } else {
                    StockAtLocation::InStock
                },
                orders: vec![PickListOrder {
                    order_id: OrderId::parse("ord_1").unwrap(),
                    order_name: "#1001".into(),
                    quantity: 2,
                }],
            })
            .collect();
        PickList {
            orders: vec![],
            entries,
            total_units: 2 * n as u32,
        }
    }

    #[test]
    fn a_pick_list_pdf_has_a_page_per_thirty_five_rows() {
        let one = pick_list_pdf(
            &list(3),
            "demo",
            chrono::DateTime::from_timestamp(1_765_000_000, 0).unwrap_or_default(),
        );
        assert!(one.starts_with(b"%PDF"));
        let many = pick_list_pdf(
            &list(100),
            "demo",
            chrono::DateTime::from_timestamp(1_765_000_000, 0).unwrap_or_default(),
        );
        assert!(many.len() > one.len());
        assert_eq!(
            (
                page_count(0),
                page_count(35),
                page_count(36),
                page_count(100)
            ),
            (1, 1, 2, 3)
        );
        assert!(
            !pick_list_pdf(
                &list(0),
                "demo",
                chrono::DateTime::from_timestamp(1_765_000_000, 0).unwrap_or_default()
            )
            .is_empty(),
            "an empty list still prints a page"
        );
    }

    #[test]
    fn rows_flag_short_stock_and_name_each_order() {
        let rows = pick_list_rows(&list(2));
        assert_eq!(rows[0][2], "Mug — blue (SHORT)");
        assert_eq!(rows[0][4], "#1001 x2");
        assert_eq!(printable("Mug — blue", 40), "Mug ? blue");
    }
}
