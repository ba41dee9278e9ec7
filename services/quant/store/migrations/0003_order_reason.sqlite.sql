-- quant_platform schema v3 (embedded SQLite): the same columns and index as
-- 0003_order_reason.sql.

ALTER TABLE executed_orders ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE executed_orders ADD COLUMN algo_name TEXT NOT NULL DEFAULT '';
CREATE INDEX executed_orders_ts_init_idx ON executed_orders (ts_init, id);
