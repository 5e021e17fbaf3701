-- Set when the shop edited an order whose picking had started: a person decides.
alter table sales_order add column review_reason text;
