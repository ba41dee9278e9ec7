-- quant_platform schema v1 (embedded SQLite): the same tables and rules as 0001_init.sql.
-- Applied by quant.store.migrate inside one transaction; recorded in schema_migrations.

CREATE TABLE instruments (
    instrument_key    TEXT PRIMARY KEY,
    trading_symbol    TEXT NOT NULL,
    name              TEXT NOT NULL,
    exchange          TEXT NOT NULL,
    segment           TEXT NOT NULL,
    instrument_type   TEXT NOT NULL,
    lot_size          INTEGER NOT NULL,
    tick_size_paise   INTEGER NOT NULL,
    freeze_quantity   INTEGER NOT NULL,
    exchange_token    TEXT NOT NULL,
    isin              TEXT NOT NULL,
    expiry            TEXT,
    strike_paise      INTEGER,
    underlying_key    TEXT NOT NULL,
    underlying_symbol TEXT NOT NULL,
    weekly            INTEGER NOT NULL,
    expired           INTEGER NOT NULL DEFAULT 0,
    updated_at        TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX instruments_symbol_idx ON instruments (upper(trading_symbol));

CREATE TABLE executed_orders (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    client_order_id     TEXT NOT NULL,
    broker_order_id     TEXT NOT NULL,
    instrument_key      TEXT NOT NULL,
    side                INTEGER NOT NULL,
    order_type          INTEGER NOT NULL,
    product             TEXT NOT NULL,
    validity            TEXT NOT NULL,
    quantity            INTEGER NOT NULL,
    price_paise         INTEGER NOT NULL,
    trigger_price_paise INTEGER NOT NULL,
    status              INTEGER NOT NULL,
    filled_quantity     INTEGER NOT NULL,
    filled_value_paise  INTEGER NOT NULL,
    message             TEXT NOT NULL,
    ts_event            INTEGER NOT NULL,
    ts_init             INTEGER NOT NULL,
    strategy            TEXT NOT NULL,
    mode                TEXT NOT NULL,
    recorded_at         TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX executed_orders_client_order_id_idx ON executed_orders (client_order_id, id);

CREATE TRIGGER executed_orders_no_update BEFORE UPDATE ON executed_orders
BEGIN
    SELECT RAISE(ABORT, 'executed_orders is append-only');
END;
CREATE TRIGGER executed_orders_no_delete BEFORE DELETE ON executed_orders
BEGIN
    SELECT RAISE(ABORT, 'executed_orders is append-only');
END;

CREATE TABLE users (
    username    TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    role        TEXT NOT NULL,
    created_at  TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at  TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
