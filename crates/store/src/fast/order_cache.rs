//! Orders on the bench: the last state this hub read or wrote of each order being worked,
//! so that an operation (a scan, a pack) starts from memory instead of a read.
//!
//! Why it is safe: an operation's write is taken only if the order is still at the version
//! it started from (`save_transition`), and every write that changes what an order holds
//! (its columns in `ORDER_BY_ID` or its lines) moves its version on. A state kept here that
//! someone else has since changed therefore fails its write with `409 conflict`, exactly as a
//! read that lost a race would, and is dropped, so the operator's next try reads afresh.
//!
//! So that this hub's own writes never produce such a conflict, every other write that may
//! change an order or stock retires everything kept once it is done (entries carry the
//! generation they were read in). That is by construction, not by each writer's care: a write
//! on sqlx's pool needs a `sql::Write`, which asks what it touches and, for orders or stock,
//! holds a [`Changing`] that retires the cache when the write ends, however it ends.
//! Stock matters because an entry also says which of the order's SKUs have no stock
//! recorded (the pick's `no_stock_recorded` warning). Writers in other processes (a second
//! hub on the same PostgreSQL database) are caught by the version check for the order, and
//! an entry is read afresh after [`MAX_AGE`] anyway, which bounds how stale the stock flags
//! can be.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lru::LruCache;
use packbench_core::model::Order;
use packbench_core::ports::OrderToWork;

/// Orders kept at most: far more than the orders open on all benches at once.
const CAPACITY: usize = 1024;

/// How long a state read from the database is used before it is read again.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(60);

struct Entry {
    work: OrderToWork,
    generation: u64,
    read_at: Instant,
}

pub(crate) struct Working {
    entries: Mutex<LruCache<(String, String), Entry>>,
    generation: AtomicU64,
}

impl Default for Working {
    fn default() -> Self {
        Self {
            entries: Mutex::new(LruCache::new(
                std::num::NonZeroUsize::new(CAPACITY).expect("capacity is not zero"),
            )),
            generation: AtomicU64::new(0),
        }
    }
}

/// Taken before a read whose result may be kept ([`Working::read`]), so a write that lands
/// while the read runs retires it.
#[derive(Clone, Copy)]
pub(crate) struct Generation(u64);

impl Working {
    pub(crate) fn generation(&self) -> Generation {
        Generation(self.generation.load(Ordering::Acquire))
    }

    /// The order as last read or written here, if still good.
    pub(crate) fn get(&self, tenant: &str, order: &str) -> Option<OrderToWork> {
        let now = self.generation.load(Ordering::Acquire);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let key = (tenant.to_owned(), order.to_owned());
        match entries.get(&key) {
            Some(e) if e.generation == now && e.read_at.elapsed() < MAX_AGE => Some(e.work.clone()),
            Some(_) => {
                entries.pop(&key);
                None
            }
            None => None,
        }
    }

    /// Keeps what a read (or a claim) found, unless something newer is kept already or a
    /// write changed orders or stock since `since`.
    pub(crate) fn read(&self, tenant: &str, since: Generation, work: &OrderToWork) {
        if since.0 != self.generation.load(Ordering::Acquire) {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let key = (tenant.to_owned(), work.order.id().as_str().to_owned());
        if entries
            .peek(&key)
            .is_some_and(|e| e.work.order.version >= work.order.version)
        {
            return;
        }
        entries.put(
            key,
            Entry {
                work: work.clone(),
                generation: since.0,
                read_at: Instant::now(),
            },
        );
    }

    /// A transition from `before_version` to `saved` was written: the kept state moves on
    /// with it (only from the state it was computed from; otherwise it is dropped).
    pub(crate) fn wrote(&self, tenant: &str, before_version: i64, saved: &Order) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let key = (tenant.to_owned(), saved.id().as_str().to_owned());
        match entries.peek_mut(&key) {
            Some(e) if e.work.order.version == before_version => e.work.order = saved.clone(),
            Some(_) => {
                entries.pop(&key);
            }
            None => {}
        }
    }

    /// A write of this order failed its version check: what is kept of it is stale.
    pub(crate) fn forget(&self, tenant: &str, order: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.pop(&(tenant.to_owned(), order.to_owned()));
    }

    /// Some other write changed orders or stock: nothing kept is used again.
    pub(crate) fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// For a write about to change orders or stock: calls [`Working::changed`] when dropped,
    /// i.e. after the write's commit, and on every way out of it.
    pub(crate) fn changing(&self) -> Changing<'_> {
        Changing(self)
    }
}

pub(crate) struct Changing<'a>(&'a Working);

impl Drop for Changing<'_> {
    fn drop(&mut self) {
        self.0.changed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use packbench_core::domain::OrderId;
    use packbench_core::workflow::{OrderState, OrderStatus};

    fn work(id: &OrderId, version: i64) -> OrderToWork {
        let now = chrono::DateTime::from_timestamp(1_765_000_000, 0).unwrap_or_default();
        OrderToWork {
            order: Order {
                state: OrderState {
                    id: id.clone(),
                    status: OrderStatus::Processing,
                    assigned_to: None,
                    lines: Vec::new(),
                    package: None,
                    more_boxes: Vec::new(),
                    shipment_id: None,
                    cancel_reason: None,
                    labeling: None,
                },
                name: "#1001".into(),
                external_id: None,
                version,
                customer_name: None,
                ship_to: None,
                created_at: now,
                updated_at: now,
            },
            unstocked: Default::default(),
        }
    }

    #[test]
    fn keeps_what_was_read_and_follows_its_own_writes() {
        let w = Working::default();
        let id = OrderId::generate();
        assert!(w.get("t", id.as_str()).is_none());
        w.read("t", w.generation(), &work(&id, 3));
        assert_eq!(w.get("t", id.as_str()).unwrap().order.version, 3);
        w.wrote("t", 3, &work(&id, 4).order);
        assert_eq!(w.get("t", id.as_str()).unwrap().order.version, 4);
        assert!(w.get("other tenant", id.as_str()).is_none());
    }

    #[test]
    fn an_older_read_never_replaces_a_newer_state() {
        let w = Working::default();
        let id = OrderId::generate();
        w.read("t", w.generation(), &work(&id, 5));
        w.read("t", w.generation(), &work(&id, 4));
        assert_eq!(w.get("t", id.as_str()).unwrap().order.version, 5);
    }

    #[test]
    fn a_write_from_another_state_or_a_conflict_drops_the_order() {
        let w = Working::default();
        let id = OrderId::generate();
        w.read("t", w.generation(), &work(&id, 5));
        w.wrote("t", 4, &work(&id, 5).order);
        assert!(w.get("t", id.as_str()).is_none());
        w.read("t", w.generation(), &work(&id, 6));
        w.forget("t", id.as_str());
        assert!(w.get("t", id.as_str()).is_none());
    }

    #[test]
    fn another_write_retires_everything_including_reads_in_flight() {
        let w = Working::default();
        let (a, b) = (OrderId::generate(), OrderId::generate());
        w.read("t", w.generation(), &work(&a, 1));
        let before = w.generation();
        w.changed();
        assert!(w.get("t", a.as_str()).is_none());
        // A read that started before the write is not kept.
        w.read("t", before, &work(&b, 1));
        assert!(w.get("t", b.as_str()).is_none());
        w.read("t", w.generation(), &work(&b, 1));
        assert!(w.get("t", b.as_str()).is_some());
    }
}
