//! Rows to domain values. A row that does not parse means the database holds something the
//! code never wrote: it is reported as a backend error, not papered over.

use chrono::{DateTime, TimeZone, Utc};
use packbench_core::domain::{
    Gtin, Location, OrderId, Package, Role, ServiceCode, ShipmentId, Sku, TrackingNumber, UserId,
};
use packbench_core::model::{
    Address, Order, OrderEvent, OrderSummary, Shipment, ShipmentStatus, StockEvent, Timestamp, User,
};
use packbench_core::ports::{OrderToWork, StoreError};
use packbench_core::workflow::{OrderLine, OrderState, OrderStatus};
use sqlx::Row;
use sqlx::any::AnyRow;

pub(crate) fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Backend(what.into().into())
}

pub(crate) fn db(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e
        && d.is_unique_violation()
    {
        return StoreError::Conflict("already exists".into());
    }
    StoreError::Backend(Box::new(e))
}

pub(crate) fn ms(t: Timestamp) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn ts(ms: i64) -> Result<Timestamp, StoreError> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| corrupt(format!("bad timestamp {ms}")))
}

/// A row's columns by name, whichever driver read it: sqlx's (both databases) or the SQLite
/// work thread's own connection (`crate::fast::sqlite_work`), so one parser serves both.
pub(crate) trait Cols {
    fn text(&self, col: &str) -> Result<String, StoreError>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, col: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError>;
}

/// sqlx's rows, through the `Any` layer or PostgreSQL's own driver (the hot path).
macro_rules! sqlx_cols {
    ($($row:ty),*) => {$(
        impl Cols for $row {
            fn text(&self, col: &str) -> Result<String, StoreError> {
                self.try_get(col).map_err(db)
            }
            fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
                self.try_get(col).map_err(db)
            }
            fn int(&self, col: &str) -> Result<i64, StoreError> {
                self.try_get(col).map_err(db)
            }
            fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
                self.try_get(col).map_err(db)
            }
        }
    )*};
}

sqlx_cols!(AnyRow, sqlx::postgres::PgRow);

impl Cols for rusqlite::Row<'_> {
    fn text(&self, col: &str) -> Result<String, StoreError> {
        self.get(col).map_err(sqlite_err)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
        self.get(col).map_err(sqlite_err)
    }
    fn int(&self, col: &str) -> Result<i64, StoreError> {
        self.get(col).map_err(sqlite_err)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        self.get(col).map_err(sqlite_err)
    }
}

pub(crate) fn text(row: &impl Cols, col: &str) -> Result<String, StoreError> {
    row.text(col)
}

pub(crate) fn opt_text(row: &impl Cols, col: &str) -> Result<Option<String>, StoreError> {
    row.opt_text(col)
}

pub(crate) fn int(row: &impl Cols, col: &str) -> Result<i64, StoreError> {
    row.int(col)
}

pub(crate) fn opt_int(row: &impl Cols, col: &str) -> Result<Option<i64>, StoreError> {
    row.opt_int(col)
}

pub(crate) fn time(row: &impl Cols, col: &str) -> Result<DateTime<Utc>, StoreError> {
    ts(int(row, col)?)
}

pub(crate) fn parsed<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, StoreError> {
    r.map_err(|e| corrupt(e.to_string()))
}

fn json<T: serde::de::DeserializeOwned>(raw: Option<String>) -> Result<Option<T>, StoreError> {
    raw.map(|s| serde_json::from_str(&s))
        .transpose()
        .map_err(|e| corrupt(e.to_string()))
}

pub(crate) fn user(row: &AnyRow) -> Result<User, StoreError> {
    Ok(User {
        id: parsed(UserId::parse(&text(row, "user_id")?))?,
        username: text(row, "username")?,
        role: parsed(Role::parse(&text(row, "role")?))?,
    })
}

pub(crate) fn status(raw: &str) -> Result<OrderStatus, StoreError> {
    OrderStatus::parse(raw).ok_or_else(|| corrupt(format!("unknown status {raw}")))
}

pub(crate) fn order_line(row: &impl Cols) -> Result<OrderLine, StoreError> {
    Ok(OrderLine {
        line_no: int(row, "line_no")? as u32,
        sku: parsed(Sku::parse(&text(row, "sku")?))?,
        barcode: opt_text(row, "barcode")?
            .map(|b| parsed(Gtin::parse(&b)))
            .transpose()?,
        title: text(row, "title")?,
        quantity: int(row, "quantity")? as u32,
        picked: int(row, "picked")? as u32,
    })
}

/// An order gathered from the rows of `ORDER_BY_ID` or `ORDER_TO_WORK`: the order's columns
/// repeat on each line's row; an order without lines is one row whose line columns are null.
#[derive(Default)]
pub(crate) struct OrderRows {
    order: Option<Order>,
    unstocked: std::collections::HashSet<String>,
}

impl OrderRows {
    /// Adds one row; with `stock`, the row also says (`stocked`) whether its line's SKU has
    /// any stock recorded.
    pub(crate) fn add(&mut self, row: &impl Cols, stock: bool) -> Result<(), StoreError> {
        let o = match &mut self.order {
            Some(o) => o,
            None => self.order.insert(order(row, Vec::new())?),
        };
        if opt_int(row, "line_no")?.is_some() {
            let line = order_line(row)?;
            if stock && int(row, "stocked")? == 0 {
                self.unstocked.insert(line.sku.key());
            }
            o.state.lines.push(line);
        }
        Ok(())
    }

    pub(crate) fn into_order(self) -> Option<Order> {
        self.order
    }

    pub(crate) fn into_work(self) -> Option<OrderToWork> {
        let unstocked = self.unstocked;
        self.order.map(|order| OrderToWork { order, unstocked })
    }
}

pub(crate) fn order(row: &impl Cols, lines: Vec<OrderLine>) -> Result<Order, StoreError> {
    let boxes = boxes(opt_text(row, "package")?)?;
    Ok(Order {
        state: OrderState {
            id: parsed(OrderId::parse(&text(row, "order_id")?))?,
            status: status(&text(row, "status")?)?,
            assigned_to: opt_text(row, "assigned_to")?
                .map(|u| parsed(UserId::parse(&u)))
                .transpose()?,
            lines,
            package: boxes.0,
            more_boxes: boxes.1,
            shipment_id: opt_text(row, "shipment_id")?
                .map(|s| parsed(ShipmentId::parse(&s)))
                .transpose()?,
            cancel_reason: opt_text(row, "cancel_reason")?,
            labeling: opt_text(row, "labeling")?
                .map(|s| parsed(ShipmentId::parse(&s)))
                .transpose()?,
        },
        name: text(row, "name")?,
        external_id: opt_text(row, "external_id")?,
        version: int(row, "version")?,
        customer_name: opt_text(row, "customer_name")?,
        ship_to: json::<Address>(opt_text(row, "ship_to")?)?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

pub(crate) fn order_summary(row: &AnyRow) -> Result<OrderSummary, StoreError> {
    Ok(OrderSummary {
        id: parsed(OrderId::parse(&text(row, "order_id")?))?,
        name: text(row, "name")?,
        status: status(&text(row, "status")?)?,
        customer_name: opt_text(row, "customer_name")?,
        assigned_to: opt_text(row, "assigned_to")?
            .map(|u| parsed(UserId::parse(&u)))
            .transpose()?,
        line_count: 0,
        units: 0,
        picked_units: 0,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

pub(crate) fn order_event(row: &AnyRow) -> Result<OrderEvent, StoreError> {
    Ok(OrderEvent {
        seq: int(row, "seq")?,
        kind: text(row, "kind")?,
        user_id: opt_text(row, "user_id")?
            .map(|u| parsed(UserId::parse(&u)))
            .transpose()?,
        station_id: opt_text(row, "station_id")?,
        payload: json(Some(text(row, "payload")?))?.unwrap_or_default(),
        created_at: time(row, "created_at")?,
    })
}

pub(crate) fn shipment(row: &AnyRow) -> Result<Shipment, StoreError> {
    let status_raw = text(row, "status")?;
    Ok(Shipment {
        id: parsed(ShipmentId::parse(&text(row, "shipment_id")?))?,
        order_id: opt_text(row, "order_id")?
            .map(|o| parsed(OrderId::parse(&o)))
            .transpose()?,
        status: ShipmentStatus::parse(&status_raw)
            .ok_or_else(|| corrupt(format!("shipment status {status_raw}")))?,
        carrier: text(row, "carrier")?,
        service: parsed(ServiceCode::parse(&text(row, "service")?))?,
        tracking_number: opt_text(row, "tracking_number")?
            .map(|t| parsed(TrackingNumber::parse(&t)))
            .transpose()?,
        estimated_delivery: opt_text(row, "estimated_delivery")?
            .map(|d| parsed(chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")))
            .transpose()?,
        package: json(Some(text(row, "package")?))?
            .ok_or_else(|| corrupt("shipment without package"))?,
        ship_to: json(opt_text(row, "ship_to")?)?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
        boxed_at: row.opt_int("boxed_at")?.map(ts).transpose()?,
        // Read apart (`SqlStore::with_packages`).
        more_packages: Vec::new(),
    })
}

pub(crate) fn shipment_package(
    row: &AnyRow,
) -> Result<packbench_core::model::ShipmentPackage, StoreError> {
    Ok(packbench_core::model::ShipmentPackage {
        package: json(Some(text(row, "package")?))?
            .ok_or_else(|| corrupt("shipment package without package"))?,
        tracking_number: opt_text(row, "tracking_number")?
            .map(|t| parsed(TrackingNumber::parse(&t)))
            .transpose()?,
        boxed_at: row.opt_int("boxed_at")?.map(ts).transpose()?,
    })
}

pub(crate) fn stock_event(row: &AnyRow) -> Result<StockEvent, StoreError> {
    Ok(StockEvent {
        seq: int(row, "seq")?,
        sku: text(row, "sku")?,
        location: parsed(Location::parse(&text(row, "location")?))?,
        delta: int(row, "delta")?,
        on_hand: int(row, "on_hand")?,
        cause: text(row, "cause")?,
        order_id: opt_text(row, "order_id")?
            .map(|o| parsed(OrderId::parse(&o)))
            .transpose()?,
        shipment_id: opt_text(row, "shipment_id")?
            .map(|s| parsed(ShipmentId::parse(&s)))
            .transpose()?,
        user_id: opt_text(row, "user_id")?
            .map(|u| parsed(UserId::parse(&u)))
            .transpose()?,
        created_at: time(row, "created_at")?,
    })
}

/// The `order_id` column of each row.
pub(crate) fn order_ids(rows: &[AnyRow]) -> Result<Vec<OrderId>, StoreError> {
    rows.iter()
        .map(|r| parsed(OrderId::parse(&text(r, "order_id")?)))
        .collect()
}

pub(crate) fn location(raw: &str) -> Result<Location, StoreError> {
    parsed(Location::parse(raw))
}

pub(crate) fn sku(raw: &str) -> Result<Sku, StoreError> {
    parsed(Sku::parse(raw))
}

/// What an order is packed into, as its `package` column keeps it: one box as an object (as
/// before several existed), several as an array, first box first.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Boxes {
    One(Package),
    Several(Vec<Package>),
}

/// The `package` column of an order in this state.
pub(crate) fn boxes_column(state: &OrderState) -> Option<String> {
    let first = state.package.as_ref()?;
    Some(if state.more_boxes.is_empty() {
        to_json(first)
    } else {
        let all: Vec<&Package> = std::iter::once(first).chain(&state.more_boxes).collect();
        to_json(&all)
    })
}

fn boxes(raw: Option<String>) -> Result<(Option<Package>, Vec<Package>), StoreError> {
    Ok(match json::<Boxes>(raw)? {
        None => (None, Vec::new()),
        Some(Boxes::One(p)) => (Some(p), Vec::new()),
        Some(Boxes::Several(mut all)) => {
            if all.is_empty() {
                return Err(corrupt("an order packed into no box"));
            }
            let first = all.remove(0);
            (Some(first), all)
        }
    })
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// A broken constraint's message: the store answers those as conflicts.
pub(crate) fn constraint(e: &rusqlite::Error) -> Option<String> {
    match e {
        rusqlite::Error::SqliteFailure(f, m)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Some(m.clone().unwrap_or_default())
        }
        _ => None,
    }
}

pub(crate) fn sqlite_err(e: rusqlite::Error) -> StoreError {
    match constraint(&e) {
        Some(m) => StoreError::Conflict(m),
        None => StoreError::Backend(Box::new(e)),
    }
}

pub(crate) const ORDER_COLUMNS_O: &str = "o.order_id, o.name, o.external_id, o.status, o.version, o.assigned_to, o.customer_name, o.ship_to, o.package, o.shipment_id, o.cancel_reason, o.labeling, o.created_at, o.updated_at";
/// One order and its lines in one query (the order's columns repeat on each line).
pub(crate) static ORDER_BY_ID: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "select {ORDER_COLUMNS_O}, l.line_no, l.sku, l.barcode, l.title, l.quantity, l.picked
         from sales_order o left join order_line l on l.tenant_id = o.tenant_id and l.order_id = o.order_id
         where o.tenant_id = $1 and o.order_id = $2 order by l.line_no"
    )
});
/// Whether line `l`'s SKU has any stock recorded, as `stocked` (1 or 0).
pub(crate) const STOCKED: &str = "cast(case when exists (select 1 from stock s where s.tenant_id = l.tenant_id and s.sku_key = l.sku_key)
             then 1 else 0 end as bigint) as stocked";
/// `ORDER_BY_ID`, and for each line whether its SKU has any stock recorded (`stocked`, 1 or
/// 0): what an operation starts from, in one read.
pub(crate) static ORDER_TO_WORK: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "select {ORDER_COLUMNS_O}, l.line_no, l.sku, l.barcode, l.title, l.quantity, l.picked, {STOCKED}
         from sales_order o left join order_line l on l.tenant_id = o.tenant_id and l.order_id = o.order_id
         where o.tenant_id = $1 and o.order_id = $2 order by l.line_no"
    )
});

pub(crate) fn sku_weight(r: &AnyRow) -> Result<packbench_core::weighing::SkuWeight, StoreError> {
    use packbench_core::domain::{Weight, WeightUnit};
    use packbench_core::weighing::{SkuWeight, WeightSource};
    let value: f64 = r.try_get("weight").map_err(db)?;
    let unit = WeightUnit::parse(&text(r, "unit")?).map_err(|e| corrupt(e.message))?;
    let raw_source = text(r, "source")?;
    Ok(SkuWeight {
        sku: sku(&text(r, "sku")?)?,
        weight: Weight::new(value, unit).map_err(|e| corrupt(e.message))?,
        source: WeightSource::parse(&raw_source)
            .ok_or_else(|| corrupt(format!("bad weight source {raw_source}")))?,
        updated_at: ts(int(r, "updated_at")?)?,
    })
}
