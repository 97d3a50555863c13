-- Every fetch attempt a crawler makes (connectors/sources/crawler). A crawl resumes from it: a URL
-- with an `ok` row for the crawl is not fetched again.
CREATE TABLE IF NOT EXISTS fetch_log (
  crawl      String,
  url        String,
  final_url  String,
  status     UInt16,
  bytes      UInt64,
  ms         UInt32,
  attempt    UInt8,
  outcome    String,
  fetched_at DateTime
) ENGINE = MergeTree() PARTITION BY toYYYYMM(fetched_at) ORDER BY (crawl, url, fetched_at);
