-- quant_platform schema v3 (PostgreSQL): executed_orders records the reason code of a
-- rejection (or of an order the service made itself) and the X-Algo-Name it was sent with;
-- replays by time read the day's events through an index on ts_init.

ALTER TABLE executed_orders ADD COLUMN reason text NOT NULL DEFAULT '';
ALTER TABLE executed_orders ADD COLUMN algo_name text NOT NULL DEFAULT '';
CREATE INDEX executed_orders_ts_init_idx ON executed_orders (ts_init, id);
