-- Image datasets (crawl): the job and its settings, the search pages whose images are published (a
-- resumed crawl skips them), every image URL found, and the validate processor's one verdict per
-- image. A verdict is written once per (dataset, url), so a record seen again after a crash gets the
-- verdict it had; at most one accepted image per (dataset, sha256).
CREATE TABLE IF NOT EXISTS image_datasets (
  id          text    PRIMARY KEY,
  tenant_id   text    NOT NULL REFERENCES tenants (id),
  name        text    NOT NULL,
  keywords    jsonb   NOT NULL,
  per_keyword integer NOT NULL CHECK (per_keyword >= 1),
  min_width   integer NOT NULL CHECK (min_width >= 0),
  min_height  integer NOT NULL CHECK (min_height >= 0),
  formats     text[]  NOT NULL,
  crawl_state text    NOT NULL DEFAULT 'crawling' CHECK (crawl_state IN ('crawling', 'crawled', 'failed')),
  error       text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS image_datasets_tenant ON image_datasets (tenant_id, created_at);

CREATE TABLE IF NOT EXISTS image_dataset_pages (
  dataset_id text    NOT NULL REFERENCES image_datasets (id),
  url        text    NOT NULL,
  keyword    text    NOT NULL,
  found      integer NOT NULL,
  next_url   text,
  error      text,
  fetched_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (dataset_id, url)
);

CREATE TABLE IF NOT EXISTS image_dataset_candidates (
  dataset_id text NOT NULL REFERENCES image_datasets (id),
  url        text NOT NULL,
  record_id  text NOT NULL,
  keyword    text NOT NULL,
  page_url   text NOT NULL,
  PRIMARY KEY (dataset_id, url)
);

CREATE TABLE IF NOT EXISTS image_dataset_items (
  dataset_id   text    NOT NULL REFERENCES image_datasets (id),
  url          text    NOT NULL,
  record_id    text    NOT NULL,
  keyword      text    NOT NULL,
  verdict      text    NOT NULL CHECK (verdict IN ('accepted', 'rejected', 'duplicate')),
  -- rejected: download_failed, unknown_format, format_not_allowed, corrupt, too_small; duplicate: exact, near
  reason       text,
  detail       text,
  downloaded   boolean NOT NULL,
  content_type text,
  format       text,
  width        integer,
  height       integer,
  bytes        integer,
  sha256       text,
  dhash        bigint,
  distance     integer,
  duplicate_of text,
  path         text,
  decided_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (dataset_id, url)
);
CREATE UNIQUE INDEX IF NOT EXISTS image_dataset_items_accepted_sha ON image_dataset_items (dataset_id, sha256) WHERE verdict = 'accepted';
