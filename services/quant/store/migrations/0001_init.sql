-- quant_platform schema v1 (PostgreSQL): instruments, executed_orders (append-only), users.
-- Applied by quant.store.migrate inside one transaction; recorded in schema_migrations.

CREATE TABLE instruments (
    instrument_key    text PRIMARY KEY,
    trading_symbol    text NOT NULL,
    name              text NOT NULL,
    exchange          text NOT NULL,
    segment           text NOT NULL,
    instrument_type   text NOT NULL,
    lot_size          bigint NOT NULL,
    tick_size_paise   bigint NOT NULL,
    freeze_quantity   bigint NOT NULL,
    exchange_token    text NOT NULL,
    isin              text NOT NULL,
    expiry            date,
    strike_paise      bigint,
    underlying_key    text NOT NULL,
    underlying_symbol text NOT NULL,
    weekly            boolean NOT NULL,
    expired           boolean NOT NULL DEFAULT false,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX instruments_symbol_idx ON instruments (upper(trading_symbol) text_pattern_ops);
CREATE INDEX instruments_expiry_idx ON instruments (expiry) WHERE NOT expired;

CREATE TABLE executed_orders (
    id                  bigserial PRIMARY KEY,
    client_order_id     text NOT NULL,
    broker_order_id     text NOT NULL,
    instrument_key      text NOT NULL,
    side                smallint NOT NULL,
    order_type          smallint NOT NULL,
    product             text NOT NULL,
    validity            text NOT NULL,
    quantity            bigint NOT NULL,
    price_paise         bigint NOT NULL,
    trigger_price_paise bigint NOT NULL,
    status              smallint NOT NULL,
    filled_quantity     bigint NOT NULL,
    filled_value_paise  bigint NOT NULL,
    message             text NOT NULL,
    ts_event            bigint NOT NULL,
    ts_init             bigint NOT NULL,
    strategy            text NOT NULL,
    mode                text NOT NULL,
    recorded_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX executed_orders_client_order_id_idx ON executed_orders (client_order_id, id);

CREATE FUNCTION executed_orders_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'executed_orders is append-only';
END;
$$;
CREATE TRIGGER executed_orders_no_update_or_delete
    BEFORE UPDATE OR DELETE ON executed_orders
    FOR EACH ROW EXECUTE FUNCTION executed_orders_append_only();

CREATE TABLE users (
    username    text PRIMARY KEY,
    secret_hash text NOT NULL,
    role        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
