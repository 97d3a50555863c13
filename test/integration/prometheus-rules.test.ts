/**
 * The Prometheus files in infra/prometheus checked by Debian's promtool (installed through infra if
 * absent): the rules are valid, their unit tests (rules.test.yml) pass, every alert has a firing
 * case there, and the scrape configuration with its file_sd targets is valid. Needs no service.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ensurePrometheus,
  preparePrometheus,
  prometheusFiles,
  promtool,
  writeTargets,
} from '../../infra/prometheus/index.ts';

describe('Prometheus rules and configuration (promtool)', () => {
  let dir: string;
  before(async () => {
    await ensurePrometheus();
    dir = await mkdtemp(path.join(tmpdir(), 'millrace-prometheus-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('promtool check rules accepts rules.yml', async () => {
    const { code, output } = await promtool(['check', 'rules', prometheusFiles.rules]);
    assert.equal(code, 0, output);
    assert.match(output, /SUCCESS: \d+ rules found/);
  });

  it('promtool test rules passes rules.test.yml', async () => {
    const { code, output } = await promtool(['test', 'rules', prometheusFiles.rulesTest]);
    assert.equal(code, 0, output);
    assert.match(output, /SUCCESS/);
  });

  it('every alert of rules.yml is tested firing in rules.test.yml', async () => {
    const rules = await readFile(prometheusFiles.rules, 'utf8');
    const tests = await readFile(prometheusFiles.rulesTest, 'utf8');
    const alerts = [...rules.matchAll(/^\s+- alert: (\w+)$/gm)].map((m) => m[1]!);
    assert.ok(alerts.length >= 5, `alerts found: ${alerts.join(', ')}`);
    // a firing case: the alertname line followed by a non-empty exp_alerts list
    const firing = new Set(
      [...tests.matchAll(/alertname: (\w+)\n\s+exp_alerts:\n\s+- exp_labels:/g)].map((m) => m[1]!),
    );
    assert.deepEqual(
      alerts.filter((a) => !firing.has(a)),
      [],
      'alerts without a firing test',
    );
  });

  it('promtool check config accepts prometheus.yml with file_sd targets written as millrace start writes them (the API over HTTPS)', async () => {
    const config = await preparePrometheus(dir);
    await writeTargets(
      'api',
      [{ targets: ['127.0.0.1:8080'], labels: { component: 'api', __scheme__: 'https' } }],
      path.join(dir, 'targets'),
    );
    await writeTargets(
      'roles',
      [{ targets: ['127.0.0.1:9101'], labels: { component: 'sink samples-flights-clickhouse' } }],
      path.join(dir, 'targets'),
    );
    const { code, output } = await promtool(['check', 'config', config]);
    assert.equal(code, 0, output);
    assert.doesNotMatch(output, /WARNING/, 'the targets files are found');
    assert.match(output, /SUCCESS: .* is valid prometheus config file syntax/);
  });
});
