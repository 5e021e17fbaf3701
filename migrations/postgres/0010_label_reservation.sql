-- The label being bought for an order right now (a shipment id), set in the same transaction
-- that records the pending shipment and moves the order's version on, before the carrier is
-- called; cleared when the order ships with it or the purchase is settled without it. The
-- version check makes it a compare-and-set: of two stations (or two hubs) shipping one order
-- only one reserves it, and a pack, cancel or assign that read the order before the
-- reservation fails on the version and, read again, is refused by the workflow.
alter table sales_order add column labeling text;

-- A purchase an older hub left pending (its answer lost) becomes the order's reservation, so
-- the next attempt settles it the same way: adopted if the carrier sold it.
update sales_order set labeling = (
    select s.shipment_id from shipment s
    where s.tenant_id = sales_order.tenant_id and s.order_id = sales_order.order_id
      and s.status = 'pending'
    order by s.created_at desc limit 1)
where status in ('picked', 'packed');
