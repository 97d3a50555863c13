import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { deletionPlan, type ForeignKey } from './postgres-plan.ts';

const key = (child: string, childColumns: string[], parent: string, parentColumns: string[]): ForeignKey => ({
  child,
  childColumns,
  parent,
  parentColumns,
});

describe('deletionPlan', () => {
  it('deletes rows without a tenant_id through the rows they point at, before those', () => {
    const plan = deletionPlan(['uploads'], [key('upload_rejections', ['upload_id'], 'uploads', ['id'])]);
    assert.deepEqual(plan, [
      {
        table: 'upload_rejections',
        sql: 'DELETE FROM "upload_rejections" WHERE ("upload_id") IN (SELECT "id" FROM "uploads" WHERE "tenant_id" = $1)',
      },
      { table: 'uploads', sql: 'DELETE FROM "uploads" WHERE "tenant_id" = $1' },
    ]);
  });

  it('follows keys two levels down with composite columns', () => {
    const plan = deletionPlan(
      ['models'],
      [
        key('model_versions', ['model_id'], 'models', ['id']),
        key('model_version_files', ['model_id', 'version'], 'model_versions', ['model_id', 'version']),
      ],
    );
    assert.deepEqual(
      plan.map((s) => s.table),
      ['model_version_files', 'model_versions', 'models'],
    );
    assert.match(
      plan[0]!.sql,
      /\("model_id", "version"\) IN \(SELECT "model_id", "version" FROM "model_versions" WHERE \("model_id"\) IN \(SELECT "id" FROM "models" WHERE "tenant_id" = \$1\)\)/,
    );
  });

  it('stops at a cycle and at a self reference', () => {
    const plan = deletionPlan(
      ['a'],
      [key('b', ['a_id'], 'a', ['id']), key('a', ['b_id'], 'b', ['id']), key('a', ['parent'], 'a', ['id'])],
    );
    assert.deepEqual(
      plan.map((s) => s.table),
      ['b', 'a'],
    );
  });

  it('quotes names holding a double quote', () => {
    assert.equal(deletionPlan(['we"ird'], [])[0]!.sql, 'DELETE FROM "we""ird" WHERE "tenant_id" = $1');
  });
});
