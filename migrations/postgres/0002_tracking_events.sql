-- What the carrier reported of each parcel, oldest first (replaced as a whole on each refresh).
create table tracking_event (
    tenant_id    text not null,
    shipment_id  text not null,
    seq          bigint not null,
    at           bigint not null,
    kind         text not null,
    code         text not null,
    description  text not null,
    location     text,
    primary key (tenant_id, shipment_id, seq)
);
create index shipment_status on shipment (tenant_id, status);
