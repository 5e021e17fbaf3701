//! Shopify's GraphQL answers, as far as Packbench reads them.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct GraphqlResponse<T> {
    pub data: Option<T>,
    #[serde(default)]
    pub errors: Vec<GraphqlError>,
    #[serde(default)]
    pub extensions: Option<Extensions>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GraphqlError {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub extensions: Option<ErrorExtensions>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ErrorExtensions {
    #[serde(default)]
    pub code: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Extensions {
    pub cost: Option<Cost>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cost {
    #[serde(default)]
    pub requested_query_cost: Option<f64>,
    #[serde(default)]
    pub actual_query_cost: Option<f64>,
    pub throttle_status: ThrottleStatus,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleStatus {
    pub maximum_available: f64,
    pub currently_available: f64,
    pub restore_rate: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OrdersData {
    pub orders: Connection<Order>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct Connection<T> {
    #[serde(default)]
    pub page_info: Option<PageInfo>,
    #[serde(default = "Vec::new")]
    pub nodes: Vec<T>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub has_next_page: bool,
    #[serde(default)]
    pub end_cursor: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: String,
    pub name: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    #[serde(default)]
    pub cancelled_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    pub customer: Option<Customer>,
    #[serde(default)]
    pub shipping_address: Option<MailingAddress>,
    /// Absent from a bulk export's order lines (their children come on lines of their own).
    #[serde(default)]
    pub fulfillment_orders: Connection<FulfillmentOrder>,
}

impl<T> Default for Connection<T> {
    fn default() -> Self {
        Self {
            page_info: None,
            nodes: Vec::new(),
        }
    }
}

impl<T> Connection<T> {
    /// Where the next page starts, when the shop said there is one.
    pub fn next_cursor(&self) -> Option<&str> {
        self.page_info
            .as_ref()
            .filter(|p| p.has_next_page)
            .and_then(|p| p.end_cursor.as_deref())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MailingAddress {
    pub name: Option<String>,
    pub company: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub province_code: Option<String>,
    pub zip: Option<String>,
    pub country_code_v2: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentOrder {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub assigned_location: Option<AssignedLocation>,
    #[serde(default)]
    pub line_items: Connection<FulfillmentOrderLineItem>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AssignedLocation {
    #[serde(default)]
    pub location: Option<LocationRef>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LocationRef {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentOrderLineItem {
    pub id: String,
    pub remaining_quantity: i64,
    #[serde(default)]
    pub sku: Option<String>,
    pub product_title: String,
    #[serde(default)]
    pub variant: Option<Variant>,
    /// The unit's weight (the variant's); Shopify says 0 for a variant nobody weighed.
    #[serde(default)]
    pub weight: Option<ShopWeight>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ShopWeight {
    /// `GRAMS`, `KILOGRAMS`, `OUNCES` or `POUNDS`.
    pub unit: String,
    pub value: f64,
}

impl ShopWeight {
    /// The weight, when the shop knows one.
    pub fn weight(&self) -> Option<packbench_core::domain::Weight> {
        use packbench_core::domain::{Weight, WeightUnit};
        let unit = match self.unit.as_str() {
            "GRAMS" => WeightUnit::G,
            "KILOGRAMS" => WeightUnit::Kg,
            "OUNCES" => WeightUnit::Oz,
            "POUNDS" => WeightUnit::Lb,
            _ => return None,
        };
        Weight::new(self.value, unit).ok()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Variant {
    #[serde(default)]
    pub barcode: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderFulfillmentOrdersData {
    pub order: Option<OrderFulfillmentOrders>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderFulfillmentOrders {
    pub fulfillment_orders: Connection<FulfillmentOrder>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentOrderLineItemsData {
    pub fulfillment_order: Option<FulfillmentOrderLineItems>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentOrderLineItems {
    pub line_items: Connection<FulfillmentOrderLineItem>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrdersCountData {
    pub orders_count: Option<Count>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Count {
    pub count: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkRunData {
    pub bulk_operation_run_query: Option<BulkRunPayload>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkRunPayload {
    pub bulk_operation: Option<BulkOperation>,
    #[serde(default)]
    pub user_errors: Vec<UserError>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UserError {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub code: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperationData {
    pub bulk_operation: Option<BulkOperation>,
}

/// A bulk export as Shopify reports it (`UnsignedInt64` counts come as strings).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperation {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub object_count: Option<String>,
    #[serde(default)]
    pub root_object_count: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub partial_data_url: Option<String>,
}
