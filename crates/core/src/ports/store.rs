//! The storage port: everything Packbench keeps, as role traits, and what they answer.

use async_trait::async_trait;

use crate::domain::{
    Location, OrderId, Role, ShipmentId, Sku, TenantId, TenantSlug, UserId, Weight,
};
use crate::model::{
    Actor, DayLabel, IdempotencyStart, LabelFormat, NewOrder, Order, OrderEvent, OrderFilter,
    OrderSummary, Page, Shipment, ShipmentFilter, StockChange, StockEvent, StockLevel, StockMove,
    Tenant, Timestamp, User,
};
use crate::weighing::{SkuWeight, WeightSource};
use crate::workflow::{OrderStatus, Transition};

use super::{PushState, TrackingEvent};

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What can go wrong in storage that a caller acts on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Someone else changed the record first, or a unique key is taken.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("storage failed")]
    Backend(#[source] BoxError),
}

/// A logged-in session, found by the hash of its token.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub user: User,
    pub station_id: Option<String>,
    pub expires_at: Timestamp,
}

pub type StoreResult<T> = Result<T, StoreError>;

/// An order as an operation finds it: the order, and the keys ([`Sku::key`]) of its lines'
/// SKUs with no stock recorded at any location (picking one is allowed, but flagged).
#[derive(Debug, Clone)]
pub struct OrderToWork {
    pub order: Order,
    pub unstocked: std::collections::HashSet<String>,
}

/// Everything Packbench keeps, as one port made of role traits (one per business area), so a
/// use case names the part it needs. Every method is scoped to one tenant: there is no way to
/// read another tenant's rows through these traits.
///
/// Writes that must not interleave (a transition, a claim) are checked here: a transition
/// names the version it read, and loses with [`StoreError::Conflict`] if the order moved on.
pub trait Store:
    AccountStore
    + OrderStore
    + ShipmentStore
    + ShopSyncStore
    + PrivacyStore
    + SettingsStore
    + StockStore
    + IdempotencyStore
{
}

impl<T> Store for T where
    T: AccountStore
        + OrderStore
        + ShipmentStore
        + ShopSyncStore
        + PrivacyStore
        + SettingsStore
        + StockStore
        + IdempotencyStore
{
}

/// Tenants, their users, and sessions.
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    async fn create_tenant(
        &self,
        slug: &TenantSlug,
        name: &str,
        now: Timestamp,
    ) -> StoreResult<Tenant>;
    async fn tenant_by_slug(&self, slug: &str) -> StoreResult<Option<Tenant>>;
    /// Every tenant (for background work such as the tracking poller).
    async fn tenants(&self) -> StoreResult<Vec<Tenant>>;
    async fn create_user(
        &self,
        tenant: &TenantId,
        username: &str,
        password_hash: &str,
        role: Role,
        now: Timestamp,
    ) -> StoreResult<User>;
    /// The user and their password hash.
    async fn credentials(
        &self,
        tenant: &TenantId,
        username: &str,
    ) -> StoreResult<Option<(User, String)>>;
    async fn user(&self, tenant: &TenantId, id: &UserId) -> StoreResult<Option<User>>;
    async fn set_password(
        &self,
        tenant: &TenantId,
        user: &UserId,
        password_hash: &str,
    ) -> StoreResult<()>;
    /// Adds `delta` to the login attempts counted under `key` (an account or a client
    /// address) in one statement, so attempts made at once each count, and answers the new
    /// count. A count whose last attempt came before `fresh_since` starts over.
    async fn count_login_attempts(
        &self,
        tenant: &TenantId,
        key: &str,
        delta: i64,
        now: Timestamp,
        fresh_since: Timestamp,
    ) -> StoreResult<u32>;
    /// Forgets the attempts counted under `key` (a right password on that account).
    async fn clear_login_attempts(&self, tenant: &TenantId, key: &str) -> StoreResult<()>;
    /// Forgets every count whose last attempt came before `before` (it would start over
    /// anyway): made-up usernames and passing devices leave no row for ever. Answers how many.
    async fn forget_stale_login_attempts(
        &self,
        tenant: &TenantId,
        before: Timestamp,
    ) -> StoreResult<u64>;
    async fn create_session(
        &self,
        tenant: &TenantId,
        token_hash: &str,
        user: &UserId,
        station_id: Option<&str>,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()>;
    /// A live (unexpired, unrevoked) session.
    async fn session(
        &self,
        tenant: &TenantId,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Session>>;
    async fn end_session(
        &self,
        tenant: &TenantId,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<()>;
}

/// Orders: imported, listed, worked through the workflow (a transition names the version it read), claimed, reviewed, cleared.
#[async_trait]
pub trait OrderStore: Send + Sync + 'static {
    async fn insert_order(
        &self,
        tenant: &TenantId,
        order: &NewOrder,
        now: Timestamp,
    ) -> StoreResult<Order>;
    /// Imports many orders in one transaction; an order whose external id (or name) is
    /// already here is skipped. Answers, for each, the new id or `None` when skipped.
    async fn import_orders(
        &self,
        tenant: &TenantId,
        orders: &[NewOrder],
        now: Timestamp,
    ) -> StoreResult<Vec<Option<OrderId>>>;
    async fn order(&self, tenant: &TenantId, id: &OrderId) -> StoreResult<Option<Order>>;
    /// The order an operation starts from, in one read: with the SKUs among its lines that
    /// have no stock recorded at any location. It may come from what this store last read or
    /// wrote of the order rather than from the database: a state someone else has changed
    /// since fails `save_transition`'s version check with a conflict, as a lost race would.
    async fn order_to_work(
        &self,
        tenant: &TenantId,
        id: &OrderId,
    ) -> StoreResult<Option<OrderToWork>>;
    /// Replaces the lines of an order nobody has picked from (the shop edited it); bumps its
    /// version and records an `edited_in_shop` event.
    async fn replace_order_lines(
        &self,
        tenant: &TenantId,
        id: &OrderId,
        lines: &[crate::model::NewOrderLine],
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Flags an order for a person to review (or clears the flag).
    async fn set_order_review(
        &self,
        tenant: &TenantId,
        id: &OrderId,
        reason: Option<&str>,
    ) -> StoreResult<()>;
    async fn order_review(&self, tenant: &TenantId, id: &OrderId) -> StoreResult<Option<String>>;
    /// A person checked a flagged order: the flag goes and a `review_cleared` event records who.
    /// `false` when there was no flag (nothing changes).
    async fn clear_order_review(
        &self,
        tenant: &TenantId,
        id: &OrderId,
        actor: &crate::model::Actor,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Why the shop holds an order, if it does.
    async fn order_hold(&self, tenant: &TenantId, id: &OrderId) -> StoreResult<Option<String>>;
    async fn order_by_external_id(
        &self,
        tenant: &TenantId,
        external_id: &str,
    ) -> StoreResult<Option<OrderId>>;
    async fn orders(
        &self,
        tenant: &TenantId,
        filter: &OrderFilter,
    ) -> StoreResult<Page<OrderSummary>>;
    async fn status_counts(&self, tenant: &TenantId) -> StoreResult<Vec<(OrderStatus, i64)>>;
    async fn order_events(&self, tenant: &TenantId, id: &OrderId) -> StoreResult<Vec<OrderEvent>>;
    /// Writes an accepted transition, its event and its stock moves in one transaction, if the
    /// order is still at `before.version`. Every write that changes what `order` answers
    /// (the order's columns or its lines) moves the version on, so this check catches them all.
    async fn save_transition(
        &self,
        tenant: &TenantId,
        before: &Order,
        transition: &Transition,
        stock: &[StockMove],
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Order>;
    /// Reserves the order for one label purchase: `transition` (a `ReserveLabel`, which sets
    /// the order's `labeling`) and the pending `shipment`, in one transaction, if the order is
    /// still at `before.version`. Once it answers, the reservation is on disk.
    async fn reserve_label(
        &self,
        tenant: &TenantId,
        before: &Order,
        transition: &Transition,
        shipment: &Shipment,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Order>;
    /// Orders with a label purchase reserved, oldest reservation first.
    async fn orders_labeling(&self, tenant: &TenantId) -> StoreResult<Vec<OrderId>>;
    /// Atomically assigns the oldest pending order to `user`; `None` when there is none.
    async fn claim_next(
        &self,
        tenant: &TenantId,
        user: &UserId,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Option<Order>>;
    /// Deletes every order, shipment, label and event of the tenant; answers how many orders.
    /// Refused (a conflict, nothing deleted) while a label is being bought for any of them.
    async fn clear_orders(&self, tenant: &TenantId) -> StoreResult<u64>;
}

/// Shipments, their label files, and what the carrier reported of them.
#[async_trait]
pub trait ShipmentStore: Send + Sync + 'static {
    async fn insert_shipment(&self, tenant: &TenantId, shipment: &Shipment) -> StoreResult<()>;
    async fn update_shipment(&self, tenant: &TenantId, shipment: &Shipment) -> StoreResult<()>;
    async fn shipment(&self, tenant: &TenantId, id: &ShipmentId) -> StoreResult<Option<Shipment>>;
    async fn shipments(
        &self,
        tenant: &TenantId,
        filter: &ShipmentFilter,
    ) -> StoreResult<Page<Shipment>>;
    /// Keeps the label of the shipment's `package`-th box (1: its own, the first).
    async fn put_label(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
        package: u32,
        format: LabelFormat,
        bytes: &[u8],
    ) -> StoreResult<()>;
    async fn label(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
        package: u32,
        format: LabelFormat,
    ) -> StoreResult<Option<Vec<u8>>>;
    /// Replaces what the carrier reported of a shipment (events oldest first).
    async fn put_tracking_events(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
        events: &[TrackingEvent],
    ) -> StoreResult<()>;
    async fn tracking_events(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
    ) -> StoreResult<Vec<TrackingEvent>>;
    /// The labels of `[from, to)`: those bought then (voided since or not), and those voided
    /// then, oldest first, each with its order's name.
    async fn labels_between(
        &self,
        tenant: &TenantId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<DayLabel>>;
    /// The shipment one of whose boxes has this tracking number, if one is, and which box
    /// (1: the first).
    async fn shipment_by_tracking(
        &self,
        tenant: &TenantId,
        tracking: &str,
    ) -> StoreResult<Option<(Shipment, u32)>>;
    /// Records that the label of the shipment's `package`-th box was scanned onto it (the
    /// first scan's time stays). Answers the shipment as now stored.
    async fn mark_boxed(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
        package: u32,
        now: Timestamp,
    ) -> StoreResult<Shipment>;
}

/// Keeping in step with the shop: what was reported back, the webhook inbox, the import watermark.
#[async_trait]
pub trait ShopSyncStore: Send + Sync + 'static {
    /// The shop sync state of orders (pending, synced, failed with the reason).
    async fn set_push_state(
        &self,
        tenant: &TenantId,
        order: &OrderId,
        state: &PushState,
        now: Timestamp,
    ) -> StoreResult<()>;
    async fn push_state(
        &self,
        tenant: &TenantId,
        order: &OrderId,
    ) -> StoreResult<Option<PushState>>;
    /// Shipped (or delivered) orders from the shop whose push has not succeeded, oldest first.
    async fn unsynced_shipped_orders(
        &self,
        tenant: &TenantId,
        limit: u32,
    ) -> StoreResult<Vec<OrderId>>;
    /// Keeps a webhook delivery; `false` when this id was already kept (a redelivery).
    async fn inbox_put(
        &self,
        tenant: &TenantId,
        webhook_id: &str,
        topic: &str,
        body: &[u8],
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Deliveries not processed yet, oldest first: (id, topic, body).
    async fn inbox_pending(
        &self,
        tenant: &TenantId,
        limit: u32,
    ) -> StoreResult<Vec<(String, String, Vec<u8>)>>;
    /// Marks a delivery processed and drops its body (it carries customer details the bench
    /// no longer needs); the id stays for de-duplication.
    async fn inbox_done(
        &self,
        tenant: &TenantId,
        webhook_id: &str,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Where the last complete import from the shop got to (`None`: never, or cleared).
    async fn sync_watermark(&self, tenant: &TenantId) -> StoreResult<Option<Timestamp>>;
    async fn set_sync_watermark(&self, tenant: &TenantId, at: Timestamp) -> StoreResult<()>;
}

/// The shop's privacy requests and what they erase.
#[async_trait]
pub trait PrivacyStore: Send + Sync + 'static {
    /// Keeps a privacy request (once per id: `false` when it was already here).
    async fn put_privacy_request(
        &self,
        tenant: &TenantId,
        request: &crate::model::PrivacyRequest,
    ) -> StoreResult<bool>;
    /// The tenant's privacy requests, newest first; only the ones still waiting when `open`.
    async fn privacy_requests(
        &self,
        tenant: &TenantId,
        open: bool,
    ) -> StoreResult<Vec<crate::model::PrivacyRequest>>;
    /// Records what a privacy request found or did, and whether it is complete.
    async fn update_privacy_request(
        &self,
        tenant: &TenantId,
        id: &str,
        result: &serde_json::Value,
        completed_at: Option<Timestamp>,
    ) -> StoreResult<()>;
    /// Bench orders that came from the named shop orders (every order from the shop when
    /// `None`).
    async fn orders_from_shop(
        &self,
        tenant: &TenantId,
        shop_order_ids: Option<&[String]>,
    ) -> StoreResult<Vec<OrderId>>;
    /// Erases an order's customer details in one transaction: its customer name and ship-to,
    /// its shipments' ship-to, and its label images (they print the address), with a
    /// `customer_redacted` event. `false` when there was nothing left to erase.
    async fn redact_order(
        &self,
        tenant: &TenantId,
        id: &OrderId,
        now: Timestamp,
    ) -> StoreResult<bool>;
}

/// Tenant settings and each station's device settings (JSON documents).
#[async_trait]
pub trait SettingsStore: Send + Sync + 'static {
    async fn settings(&self, tenant: &TenantId) -> StoreResult<Option<serde_json::Value>>;
    async fn put_settings(
        &self,
        tenant: &TenantId,
        doc: &serde_json::Value,
        now: Timestamp,
    ) -> StoreResult<()>;
    async fn device_settings(
        &self,
        tenant: &TenantId,
        station: &str,
    ) -> StoreResult<Option<serde_json::Value>>;
    async fn put_device_settings(
        &self,
        tenant: &TenantId,
        station: &str,
        doc: &serde_json::Value,
        now: Timestamp,
    ) -> StoreResult<()>;
}

/// Stock by shelf location and its history.
#[async_trait]
pub trait StockStore: Send + Sync + 'static {
    /// What is on hand of one SKU at each location (cheap: no allocation).
    async fn on_hand(&self, tenant: &TenantId, sku: &Sku) -> StoreResult<Vec<(Location, i64)>>;
    /// Stock rows with what open orders have allocated of them.
    async fn stock(
        &self,
        tenant: &TenantId,
        sku: Option<&Sku>,
        location: Option<&Location>,
    ) -> StoreResult<Vec<StockLevel>>;
    /// Applies stock changes in one transaction, each recorded as a stock event with `cause`.
    async fn change_stock(
        &self,
        tenant: &TenantId,
        changes: &[StockChange],
        cause: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Vec<StockLevel>>;
    async fn stock_events(
        &self,
        tenant: &TenantId,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<StockEvent>>;
    /// What shipping this shipment took from stock (for giving it back on a void).
    async fn shipment_stock_moves(
        &self,
        tenant: &TenantId,
        shipment: &ShipmentId,
    ) -> StoreResult<Vec<StockMove>>;
    /// The unit weights known for these SKUs (every SKU's when `None`), by SKU.
    async fn sku_weights(
        &self,
        tenant: &TenantId,
        skus: Option<&[Sku]>,
    ) -> StoreResult<Vec<SkuWeight>>;
    /// Records unit weights from `source`, in one transaction. The shop's never replace the
    /// bench's; a bench `None` forgets the SKU's weight (the shop's comes back on import).
    async fn set_sku_weights(
        &self,
        tenant: &TenantId,
        weights: &[(Sku, Option<Weight>)],
        source: WeightSource,
        now: Timestamp,
    ) -> StoreResult<()>;
}

/// Idempotency keys: a request's first answer kept for its replays.
#[async_trait]
pub trait IdempotencyStore: Send + Sync + 'static {
    async fn idempotency_start(
        &self,
        tenant: &TenantId,
        key: &str,
        user: &UserId,
        fingerprint: &str,
        now: Timestamp,
    ) -> StoreResult<IdempotencyStart>;
    async fn idempotency_finish(
        &self,
        tenant: &TenantId,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> StoreResult<()>;
    /// Forgets a key whose request failed before changing anything, so a retry can run.
    async fn idempotency_abandon(&self, tenant: &TenantId, key: &str) -> StoreResult<()>;
}
