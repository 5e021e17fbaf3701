-- The auto-assign queue: the oldest pending order that is not on hold. With only
-- `sales_order_queue` and `sales_order_created` to choose from, the planner walked
-- `sales_order_created` from the oldest order filtering on status, past every order already
-- claimed (13 ms per claim after ~7,000 claims in the load test). Only waiting orders are in
-- this index, in the order they are handed out.
create index sales_order_pending on sales_order (tenant_id, created_at, order_id)
    where status = 'pending' and hold_reason is null;

-- Orders are updated at every step of the bench; free room on each page lets PostgreSQL keep
-- an update on the same page (a HOT update, no new index entries) when no indexed column changes.
alter table sales_order set (fillfactor = 85);
