//! Shopify orders → bench orders: one per fulfillment order that is open at one of the
//! tenant's locations (all locations when none is configured), with what is still to fulfil.
//! An on-hold fulfillment order comes with its hold (not assignable until released); cancelled
//! orders and closed fulfillment orders bring nothing.

use packbench_core::domain::{Gtin, Sku};
use packbench_core::model::{Address, NewOrder, NewOrderLine, shop_numeric_id};

use crate::wire;

fn address(a: &wire::MailingAddress) -> Address {
    Address {
        name: a.name.clone(),
        company: a.company.clone(),
        lines: [a.address1.clone(), a.address2.clone()]
            .into_iter()
            .flatten()
            .filter(|l| !l.trim().is_empty())
            .collect(),
        city: a.city.clone(),
        state: a.province_code.clone(),
        postal_code: a.zip.clone(),
        country: a.country_code_v2.clone(),
        phone: a.phone.clone(),
    }
}

/// The bench orders of one Shopify order.
pub fn bench_orders(order: &wire::Order, location_ids: &[String]) -> Vec<NewOrder> {
    if order.cancelled_at.is_some() {
        return Vec::new();
    }
    let at_bench: Vec<&wire::FulfillmentOrder> = order
        .fulfillment_orders
        .nodes
        .iter()
        .filter(|fo| matches!(fo.status.as_str(), "OPEN" | "IN_PROGRESS" | "ON_HOLD"))
        .filter(|fo| {
            location_ids.is_empty()
                || fo
                    .assigned_location
                    .as_ref()
                    .and_then(|l| l.location.as_ref())
                    .is_some_and(|l| location_ids.contains(&l.id))
        })
        .collect();
    let several = at_bench.len() > 1;
    at_bench
        .into_iter()
        .enumerate()
        .filter_map(|(i, fo)| {
            let lines: Vec<NewOrderLine> = fo
                .line_items
                .nodes
                .iter()
                .filter(|li| li.remaining_quantity > 0)
                .filter_map(|li| {
                    let sku = li
                        .sku
                        .as_deref()
                        .and_then(|s| Sku::parse(s).ok())
                        .or_else(|| {
                            // No SKU in Shopify: the line item's own id keeps it pickable by scan.
                            let tail = li.id.rsplit('/').next().unwrap_or(&li.id);
                            Sku::parse(&format!("LINE-{tail}")).ok()
                        })?;
                    Some(NewOrderLine {
                        sku,
                        barcode: li
                            .variant
                            .as_ref()
                            .and_then(|v| v.barcode.as_deref())
                            .and_then(|b| Gtin::parse(b).ok()),
                        title: li.product_title.clone(),
                        quantity: u32::try_from(li.remaining_quantity).ok()?,
                        weight: li.weight.as_ref().and_then(wire::ShopWeight::weight),
                    })
                })
                .collect();
            if lines.is_empty() {
                return None;
            }
            Some(NewOrder {
                name: if several {
                    format!("{}-{}", order.name, i + 1)
                } else {
                    order.name.clone()
                },
                external_id: Some(fo.id.clone()),
                customer_name: order.customer.as_ref().and_then(|c| c.display_name.clone()),
                ship_to: order.shipping_address.as_ref().map(address),
                lines,
                created_at: order.created_at,
                hold: (fo.status == "ON_HOLD").then(|| "on hold in Shopify".to_string()),
                shop_order_id: Some(shop_numeric_id(&order.id).to_owned()),
            })
        })
        .collect()
}
