-- Label to box: when the packer scanned a shipment's label onto its box (null: never, or the
-- station does not ask for it), and shipments found by the tracking number scanned, so a label
-- put on the wrong box is named.
alter table shipment add column boxed_at bigint;
create index shipment_tracking on shipment (tenant_id, tracking_number);
