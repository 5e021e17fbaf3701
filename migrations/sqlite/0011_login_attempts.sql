-- Login attempts are counted per account and per client address (the `username` column holds
-- either key), each in one statement, and forgotten when the last one is old: the time of the
-- last attempt. `locked_until` is no longer used: an account is never locked, its attempts are
-- slowed (crates/core/src/service/accounts.rs).
alter table login_failure add column last_attempt_at bigint;
