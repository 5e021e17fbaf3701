-- Several boxes: a shipment's packages after the first (the first is the shipment's own row),
-- each with the tracking number UPS gave it, when its label was scanned onto it, and its
-- label in each format. `seq` counts from 2.
create table shipment_package (
    tenant_id        text not null references tenant (tenant_id),
    shipment_id      text not null,
    seq              bigint not null check (seq >= 2),
    package          text not null,
    tracking_number  text,
    boxed_at         bigint,
    primary key (tenant_id, shipment_id, seq)
);
create index shipment_package_tracking on shipment_package (tenant_id, tracking_number);

create table package_label (
    tenant_id    text not null,
    shipment_id  text not null,
    seq          bigint not null,
    format       text not null,
    content      bytea not null,
    primary key (tenant_id, shipment_id, seq, format)
);
