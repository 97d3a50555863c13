/**
 * Imported first by the hostile-input and fuzz tests, before anything reads the config: uploads
 * capped at 16 MiB (a file past the cap is quick to send), requests that must arrive within 2 s
 * (slow clients are cut quickly), rate limits out of the way of thousands of requests, and the
 * crawler allowed to fetch this test's own server on 127.0.0.1 (and nothing else local).
 */
process.env.UPLOAD_MAX_BYTES = String(16 * 1024 * 1024);
process.env.API_REQUEST_TIMEOUT_MS = '2000';
process.env.RATE_LIMIT_PER_KEY = '1000000';
process.env.RATE_LIMIT_PER_IP = '1000000';
process.env.CRAWL_ALLOWED_HOSTS = '127.0.0.1';
process.env.LOG_LEVEL ??= 'warn'; // thousands of access-log lines would bury the failures
