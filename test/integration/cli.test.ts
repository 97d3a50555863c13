import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const millrace = (args: string[], input?: string, env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [path.join(root, 'bin', 'millrace.js'), ...args], {
    input,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });

describe('the millrace CLI', () => {
  it('a bad setting stops start-up naming the variable and what it expects', () => {
    const run = millrace(['topics'], undefined, { API_PORT: 'eighty' });
    assert.equal(run.status, 78);
    assert.match(run.stderr, /API_PORT="eighty": expected a port number from 1 to 65535/);
  });

  it('an unknown command lists the commands', () => {
    const run = millrace(['frobnicate']);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /unknown command "frobnicate"/);
    assert.match(run.stderr, /provision/);
  });

  it('help lists the commands and the components; help <component> prints its spec; an unknown one is refused naming the known', () => {
    const list = millrace(['help']);
    assert.equal(list.status, 0, list.stderr);
    assert.match(
      list.stdout,
      /commands:\n[\s\S]*provision[\s\S]*components \(npx millrace help <component>\):\n {2}sources +uploads, /,
    );
    assert.match(list.stdout, /processors +catalog-classification, /);

    const spec = millrace(['help', 'finance-scores-postgres']);
    assert.equal(spec.status, 0, spec.stderr);
    assert.match(spec.stdout, /^finance-scores-postgres \(sink\)\n/);
    assert.match(spec.stdout, /\n {2}input +finance\.statements\.scored\n/);
    assert.match(spec.stdout, /\n {2}--max-rows +integer +5000\n/);
    assert.match(spec.stdout, /\nexample:\n {2}npx millrace sink finance-scores-postgres\n/);

    const unknown = millrace(['help', 'finance-scorer']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown component "finance-scorer"; known: .*finance-scoring/);
  });

  it('produce sends the good lines and names the bad ones by line and field', () => {
    const refused = millrace(['produce', '--topic', 'market.quotes.nope'], '{}');
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /unknown topic "market\.quotes\.nope"; the catalogue has: /);

    const run = millrace(
      ['produce', '--topic', 'market.quotes.raw'],
      [
        JSON.stringify({
          id: 'q1',
          tenant_id: 't',
          event_time: 1,
          source: 'test',
          symbol: 'MSFT',
          ts: 1,
          open: null,
          high: null,
          low: null,
          close: 39.81,
          volume: null,
        }),
        '{not json',
        JSON.stringify({
          id: 'q2',
          tenant_id: 't',
          event_time: 1,
          source: 'test',
          symbol: 'MSFT',
          ts: 'yesterday',
          close: 'high',
        }),
      ].join('\n'),
    );
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /line 2: .*JSON/);
    assert.match(
      run.stderr,
      /line 3: record does not match market\.quotes\.raw-value: invalid field\(s\) "ts", "close"/,
    );
    assert.match(run.stderr, /1 record\(s\) sent to market\.quotes\.raw, 2 refused/);
  });
});
