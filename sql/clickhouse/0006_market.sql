-- Market analytics. market_quotes: every price bar parsed or produced (market.quotes.raw), row for
-- row; market_indicators: the bars with their indicators (market.quotes.enriched). Exactly-once
-- sink tables (connectors/sinks/clickhouse/README.md); the id is tenant:symbol:bar start, so the
-- ORDER BY holds it while serving per-symbol time ranges.
CREATE TABLE IF NOT EXISTS market_quotes (
  id          String,
  tenant_id   String,
  symbol      String,
  ts          DateTime,
  open        Nullable(Float64),
  high        Nullable(Float64),
  low         Nullable(Float64),
  close       Float64,
  volume      Nullable(Int64),
  source      String,
  source_url  Nullable(String),
  event_time  DateTime,
  _topic      String,
  _partition  UInt32,
  _offset     UInt64
) ENGINE = ReplacingMergeTree(_offset) ORDER BY (tenant_id, symbol, ts, id);

CREATE TABLE IF NOT EXISTS market_indicators (
  id           String,
  tenant_id    String,
  symbol       String,
  ts           DateTime,
  close        Float64,
  return_1     Nullable(Float64),
  sma20        Nullable(Float64),
  sma50        Nullable(Float64),
  ema20        Nullable(Float64),
  ema50        Nullable(Float64),
  volatility20 Nullable(Float64),
  rsi14        Nullable(Float64),
  event_time   DateTime,
  _topic       String,
  _partition   UInt32,
  _offset      UInt64
) ENGINE = ReplacingMergeTree(_offset) ORDER BY (tenant_id, symbol, ts, id);

-- The daily rollup: one OHLCV bar per symbol and day, over deduplicated bars (FINAL), so a page
-- fetched twice counts once. Bars scraped with only a close price use it for open, high and low.
-- (The inner names differ from the outer ones: 18.16 would resolve `close` to the aggregate's alias.)
CREATE VIEW IF NOT EXISTS market_quotes_daily AS
SELECT
  tenant_id,
  symbol,
  toDate(ts) AS day,
  argMin(ifNull(o, c), ts) AS open,
  max(ifNull(h, c)) AS high,
  min(ifNull(l, c)) AS low,
  argMax(c, ts) AS close,
  sum(ifNull(v, 0)) AS volume,
  count() AS bars
FROM (SELECT tenant_id, symbol, ts, open AS o, high AS h, low AS l, close AS c, volume AS v FROM market_quotes FINAL)
GROUP BY tenant_id, symbol, day;
