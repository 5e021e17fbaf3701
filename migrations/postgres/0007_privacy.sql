-- The shop's own id of the order (Shopify's numeric order id), so that privacy requests,
-- which name orders by it, find every bench order that came from one shop order.
alter table sales_order add column shop_order_id text;
create index sales_order_shop_order on sales_order (tenant_id, shop_order_id);

-- Privacy requests from the shop (customers/data_request, customers/redact, shop/redact).
-- A redaction waits for orders still on their way (open, or shipped and not yet delivered);
-- a data request's answer (what the bench holds) is kept for the admin to pass on.
create table privacy_request (
    tenant_id       text not null,
    request_id      text not null,
    kind            text not null,
    customer_id     text,
    shop_order_ids  text not null,
    received_at     bigint not null,
    completed_at    bigint,
    result          text,
    primary key (tenant_id, request_id)
);
create index privacy_request_open on privacy_request (tenant_id, completed_at);
