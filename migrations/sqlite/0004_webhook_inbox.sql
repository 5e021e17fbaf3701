-- Shopify webhook deliveries, kept before they are answered: de-duplicated by Shopify's
-- X-Shopify-Webhook-Id, processed in the background, never lost across a crash.
create table webhook_inbox (
    tenant_id     text not null,
    webhook_id    text not null,
    topic         text not null,
    body          blob not null,
    received_at   integer not null,
    processed_at  integer,
    primary key (tenant_id, webhook_id)
);
create index webhook_inbox_pending on webhook_inbox (tenant_id, processed_at);
