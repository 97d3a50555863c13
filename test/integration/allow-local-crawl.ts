/**
 * Imported first by tests whose crawler fetches the fixture site on 127.0.0.1: the crawler refuses
 * loopback targets unless CRAWL_ALLOWED_HOSTS names them (set before anything reads the config).
 * The crawler's user agent is set too, so tests can check that the fixture site sees it.
 */
process.env.CRAWL_ALLOWED_HOSTS = '127.0.0.1';
process.env.CRAWL_USER_AGENT = 'MillraceTest/1.0 (+https://millrace.dev/test)';
