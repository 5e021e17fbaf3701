//! A bulk export's result: Shopify's JSONL file, one object per line, children after their
//! parent with `__parentId` (the export asks `groupObjects: true`, so an order's fulfillment
//! orders and their line items come before the next order). The file is kept on disk, not in
//! memory (a big store's export runs to hundreds of megabytes), and read back a page at a time.

use std::io::{BufRead, BufReader, Write};

use serde::Deserialize;
use serde_json::Value;

use crate::ShopifyError;
use crate::wire::{FulfillmentOrder, FulfillmentOrderLineItem, Order};

fn io(e: std::io::Error) -> ShopifyError {
    ShopifyError::Bulk(format!("the export file on disk: {e}"))
}

/// Where a download goes.
pub struct BulkWriter {
    file: tempfile::NamedTempFile,
}

impl BulkWriter {
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), ShopifyError> {
        self.file.write_all(bytes).map_err(io)
    }

    pub fn finish(mut self) -> Result<BulkOrders, ShopifyError> {
        self.file.flush().map_err(io)?;
        let reader = self.file.reopen().map_err(io)?;
        Ok(BulkOrders {
            _file: Some(self.file),
            lines: Some(BufReader::new(reader)),
            pending: None,
            line: 0,
        })
    }
}

/// The orders of a finished export, read in order (the file goes when this does).
pub struct BulkOrders {
    _file: Option<tempfile::NamedTempFile>,
    lines: Option<BufReader<std::fs::File>>,
    /// The order being put together (its children may still follow).
    pending: Option<Order>,
    line: u64,
}

#[derive(Deserialize)]
struct Parent {
    #[serde(rename = "__parentId")]
    parent: Option<String>,
}

impl BulkOrders {
    pub fn writer() -> Result<BulkWriter, ShopifyError> {
        Ok(BulkWriter {
            file: tempfile::Builder::new()
                .prefix("packbench-bulk-")
                .suffix(".jsonl")
                .tempfile()
                .map_err(io)?,
        })
    }

    /// An export that matched nothing.
    pub fn empty() -> Result<Self, ShopifyError> {
        Ok(Self {
            _file: None,
            lines: None,
            pending: None,
            line: 0,
        })
    }

    /// Up to `n` whole orders; fewer only at the end of the file.
    pub fn next_orders(&mut self, n: usize) -> Result<Vec<Order>, ShopifyError> {
        let mut out = Vec::new();
        let Some(lines) = self.lines.as_mut() else {
            return Ok(out);
        };
        let mut text = String::new();
        while out.len() < n {
            text.clear();
            if lines.read_line(&mut text).map_err(io)? == 0 {
                self.lines = None;
                out.extend(self.pending.take());
                break;
            }
            self.line += 1;
            let raw = text.trim();
            if raw.is_empty() {
                continue;
            }
            let bad = |e: serde_json::Error| {
                ShopifyError::Malformed(format!("bulk export line {}: {e}", self.line))
            };
            let value: Value = serde_json::from_str(raw).map_err(bad)?;
            let id = value["id"].as_str().unwrap_or("");
            if id.starts_with("gid://shopify/Order/") {
                let order: Order = serde_json::from_value(value).map_err(bad)?;
                out.extend(self.pending.replace(order));
                continue;
            }
            let Parent { parent } = serde_json::from_value(value.clone()).map_err(bad)?;
            let parent = parent.unwrap_or_default();
            let orphan = || {
                ShopifyError::Bulk(format!(
                    "line {}: {id} comes apart from its parent {parent} (the export was not grouped)",
                    self.line
                ))
            };
            let order = self.pending.as_mut().ok_or_else(orphan)?;
            if id.starts_with("gid://shopify/FulfillmentOrder/") {
                if order.id != parent {
                    return Err(orphan());
                }
                let fo: FulfillmentOrder = serde_json::from_value(value).map_err(bad)?;
                order.fulfillment_orders.nodes.push(fo);
            } else if id.starts_with("gid://shopify/FulfillmentOrderLineItem/") {
                let fo = order
                    .fulfillment_orders
                    .nodes
                    .iter_mut()
                    .find(|fo| fo.id == parent)
                    .ok_or_else(orphan)?;
                let item: FulfillmentOrderLineItem = serde_json::from_value(value).map_err(bad)?;
                fo.line_items.nodes.push(item);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export(text: &str) -> BulkOrders {
        let mut w = BulkOrders::writer().unwrap();
        w.write(text.as_bytes()).unwrap();
        w.finish().unwrap()
    }

    const ORDER: &str = r##"{"id":"gid://shopify/Order/1","name":"#1001","createdAt":"2026-12-01T10:00:00Z","updatedAt":"2026-12-01T10:00:05Z","cancelledAt":null,"customer":null,"shippingAddress":null}"##;

    #[test]
    fn children_are_put_back_under_their_parents_a_page_at_a_time() {
        let fo = r#"{"id":"gid://shopify/FulfillmentOrder/2","status":"OPEN","assignedLocation":null,"__parentId":"gid://shopify/Order/1"}"#;
        let li = |n: u32| {
            format!(
                r#"{{"id":"gid://shopify/FulfillmentOrderLineItem/{n}","remainingQuantity":1,"sku":"A","productTitle":"A","variant":null,"__parentId":"gid://shopify/FulfillmentOrder/2"}}"#
            )
        };
        let second = ORDER
            .replace("Order/1", "Order/9")
            .replace("#1001", "#1002");
        let text = format!("{ORDER}\n{fo}\n{}\n{}\n{second}\n", li(3), li(4));
        let mut b = export(&text);
        let first = b.next_orders(1).unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(
            first[0].fulfillment_orders.nodes[0].line_items.nodes.len(),
            2
        );
        let rest = b.next_orders(5).unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].name, "#1002");
        assert!(b.next_orders(5).unwrap().is_empty());
    }

    #[test]
    fn an_ungrouped_export_is_refused_not_misread() {
        let stray = r#"{"id":"gid://shopify/FulfillmentOrder/2","status":"OPEN","__parentId":"gid://shopify/Order/7"}"#;
        let mut b = export(&format!("{ORDER}\n{stray}\n"));
        let err = b.next_orders(10).unwrap_err();
        assert!(err.to_string().contains("not grouped"), "{err}");
    }
}
