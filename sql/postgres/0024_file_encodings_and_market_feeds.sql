-- Files as people export them: the encoding an upload or a bulk job's file was read in (declared
-- with a charset, or detected: utf-8, utf-16le, utf-16be, windows-1252). Earlier files were UTF-8.
ALTER TABLE uploads ADD COLUMN IF NOT EXISTS encoding text NOT NULL DEFAULT 'utf-8'
  CHECK (encoding IN ('utf-8', 'utf-16le', 'utf-16be', 'windows-1252'));
ALTER TABLE finance_jobs ADD COLUMN IF NOT EXISTS encoding text NOT NULL DEFAULT 'utf-8'
  CHECK (encoding IN ('utf-8', 'utf-16le', 'utf-16be', 'windows-1252'));

-- Real market feeds: where the retriever fetches a watched symbol from. 'demo' is the demo quote
-- site's pages (MARKET_SITE_URL, no url of its own); the others are a data provider's format read
-- from the symbol's url.
ALTER TABLE market_symbols ADD COLUMN IF NOT EXISTS feed_format text NOT NULL DEFAULT 'demo'
  CHECK (feed_format IN ('demo', 'stooq_csv', 'yahoo_csv', 'alpha_vantage_json'));
ALTER TABLE market_symbols ADD COLUMN IF NOT EXISTS feed_url text;
ALTER TABLE market_symbols ADD CONSTRAINT market_symbols_feed_url CHECK ((feed_format = 'demo') = (feed_url IS NULL));
