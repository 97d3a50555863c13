import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { followerAction, replicatedEngine, replicatedStatement, zookeeperPath } from './clickhouse-replicated.ts';

describe('the replicated variant of the ClickHouse DDL', () => {
  it('makes each MergeTree engine replicated, its parameters after the path and replica', () => {
    const path = zookeeperPath('millrace', 'samples_flights', '0009_tenant_first_layout.sql');
    assert.equal(path, '/clickhouse/tables/{shard}/millrace/samples_flights/0009_tenant_first_layout');
    assert.equal(
      replicatedEngine(
        'ENGINE = ReplacingMergeTree(_offset) PARTITION BY toYYYYMM(event_time) ORDER BY (tenant_id, id)',
        path,
      ),
      `ENGINE = ReplicatedReplacingMergeTree('${path}', '{replica}', _offset) PARTITION BY toYYYYMM(event_time) ORDER BY (tenant_id, id)`,
    );
    assert.equal(
      replicatedEngine('ENGINE = MergeTree() ORDER BY name', 'p'),
      "ENGINE = ReplicatedMergeTree('p', '{replica}') ORDER BY name",
    );
    assert.equal(
      replicatedEngine('ENGINE=AggregatingMergeTree() ORDER BY t', 'p'),
      "ENGINE = ReplicatedAggregatingMergeTree('p', '{replica}') ORDER BY t",
    );
  });

  it('names the table and the migration in the path; leaves views and other statements alone', () => {
    assert.match(
      replicatedStatement(
        'CREATE TABLE IF NOT EXISTS fetch_log (a String) ENGINE = MergeTree() ORDER BY a',
        'db',
        '0001_fetch_log.sql',
      ),
      /ReplicatedMergeTree\('\/clickhouse\/tables\/\{shard\}\/db\/fetch_log\/0001_fetch_log', '\{replica\}'\)/,
    );
    const view = 'CREATE MATERIALIZED VIEW IF NOT EXISTS v TO t AS SELECT a FROM s';
    assert.equal(replicatedStatement(view, 'db', '0010_x.sql'), view);
    assert.equal(
      replicatedStatement('CREATE TABLE l (a String) ENGINE = Log', 'db', '0010_x.sql'),
      'CREATE TABLE l (a String) ENGINE = Log',
    );
  });

  it('leaves rows and ALTERs to replication on the other replicas, and checks once they caught up', () => {
    assert.equal(followerAction('INSERT INTO t SELECT 1'), 'skip');
    assert.equal(followerAction('TRUNCATE TABLE t'), 'skip');
    assert.equal(followerAction('ALTER TABLE t ADD COLUMN c String'), 'skip');
    assert.equal(followerAction('SELECT throwIf(1 != 1)'), 'check');
    assert.equal(followerAction('CREATE VIEW v AS SELECT 1'), 'run');
    assert.equal(followerAction('RENAME TABLE a TO b'), 'run');
  });
});
