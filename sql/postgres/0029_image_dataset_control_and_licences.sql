-- Image datasets out (issue 22): a crawl can be paused (kept paused across API restarts, since
-- resumeUnfinished starts only 'crawling' ones), resumed, or cancelled; and each image URL found
-- keeps the licence hint its results page gave (a URL or a name; null when the page gives none).
ALTER TABLE image_datasets DROP CONSTRAINT IF EXISTS image_datasets_crawl_state_check;
ALTER TABLE image_datasets ADD CONSTRAINT image_datasets_crawl_state_check
  CHECK (crawl_state IN ('crawling', 'paused', 'cancelled', 'crawled', 'failed'));
ALTER TABLE image_dataset_candidates ADD COLUMN IF NOT EXISTS licence text;
