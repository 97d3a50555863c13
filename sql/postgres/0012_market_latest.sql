-- The latest enriched quote of each watched symbol (market.quotes.enriched), one row per tenant and
-- symbol: what the watch list and a dashboard show without asking ClickHouse.
CREATE TABLE IF NOT EXISTS market_latest (
  symbol_key       text        PRIMARY KEY, -- tenant_id:symbol, the Kafka key of the enriched topic
  tenant_id        text        NOT NULL,
  symbol           text        NOT NULL,
  quote_id         text        NOT NULL,
  ts               timestamptz NOT NULL,
  close            double precision NOT NULL,
  return_1         double precision,
  sma20            double precision,
  sma50            double precision,
  ema20            double precision,
  ema50            double precision,
  volatility20     double precision,
  rsi14            double precision,
  updated_at       timestamptz NOT NULL,
  source_partition integer     NOT NULL,
  source_offset    bigint      NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS market_latest_symbol ON market_latest (tenant_id, symbol);
