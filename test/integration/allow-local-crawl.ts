/**
 * Imported first by tests whose crawler fetches the fixture site on 127.0.0.1: the crawler refuses
 * loopback targets unless CRAWL_ALLOWED_HOSTS names them (set before anything reads the config).
 */
process.env.CRAWL_ALLOWED_HOSTS = '127.0.0.1';
