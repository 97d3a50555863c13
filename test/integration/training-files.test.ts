/**
 * Training datasets from a tenant's own files, on real Postgres and ClickHouse: vega-datasets'
 * cars uploaded as CSV (semicolons), JSON lines and Parquet are inspected alike (types, exact
 * profiles), bad rows are refused by number with their reason, a file past the cap is a 413 that
 * leaves nothing, and a dataset made from a file lands exactly the usable rows in ClickHouse, read
 * back by the trainers' streaming function; another tenant sees none of it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'csv-stringify/sync';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { TrainingFiles } from '../../connectors/sources/training-files/training-files.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { loadConfig } from '../../core/config.ts';
import { sqlValue } from '../../core/clickhouse-sql.ts';
import { createKafka } from '../../core/kafka.ts';
import { createLogger } from '../../core/logger.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { Registry } from '../../core/schema-registry.ts';
import {
  getUploadedDataset,
  reserveVersion,
  rowsTrainingInput,
  streamUploadedRows,
  versionRows,
} from '../../models/tabular/uploaded-datasets.ts';
import { trainFromRows } from '../../models/tabular/train-rows.ts';
import { eventually, vegaDataFile } from '../../testkit/helpers.ts';
import { testApi, type TestApi } from '../../testkit/training-helpers.ts';

const db = createPostgresPool(4);
const clickhouse = createClickHouse();
const log = createLogger('test');
const deps = { db, clickhouse, kafka: createKafka('millrace-test'), registry: new Registry(), log };

interface Car {
  Name: string;
  Miles_per_Gallon: number | null;
  Cylinders: number;
  Displacement: number;
  Horsepower: number | null;
  Weight_in_lbs: number;
  Acceleration: number;
  Year: string;
  Origin: string;
}
const cars = JSON.parse(readFileSync(vegaDataFile('cars.json'), 'utf8')) as Car[];
const COLUMNS = Object.keys(cars[0]!) as (keyof Car)[];
const NUMERIC = [
  'Miles_per_Gallon',
  'Cylinders',
  'Displacement',
  'Horsepower',
  'Weight_in_lbs',
  'Acceleration',
] as const;

const csvOf = (rows: readonly Car[]) =>
  stringify(
    rows.map((r) => COLUMNS.map((c) => r[c] ?? '')),
    { header: true, columns: COLUMNS, delimiter: ';' },
  );
const jsonLinesOf = (rows: readonly Car[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
function parquetOf(rows: readonly Car[]): Uint8Array<ArrayBuffer> {
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: 'Name', data: rows.map((r) => r.Name), type: 'STRING' },
      ...NUMERIC.map((name) => ({ name, data: rows.map((r) => r[name]), type: 'DOUBLE' as const })),
      // a Parquet timestamp: read back as the same instant as the ISO date of the other formats
      { name: 'Year', data: rows.map((r) => new Date(`${r.Year}T00:00:00Z`)), type: 'TIMESTAMP' },
      { name: 'Origin', data: rows.map((r) => r.Origin), type: 'STRING' },
    ],
    rowGroupSize: 100, // several row groups
  });
  return new Uint8Array(buffer);
}

const sortBy = <T>(values: T[]) => [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const present = <T>(values: (T | null)[]) => values.filter((v): v is T => v !== null);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));

/** The profile the inspection must give of a column, computed here from the rows themselves. */
function expectedProfile(rows: readonly Car[], name: keyof Car) {
  const values = rows.map((r) => r[name]);
  const got = present(values);
  const counts = new Map<string, number>();
  for (const v of got) counts.set(String(v), (counts.get(String(v)) ?? 0) + 1);
  return { missing: values.length - got.length, distinct: counts.size, counts };
}

interface Inspection {
  rows: number;
  good_rows: number;
  bad_rows: number;
  bad: { row_number: number; reason: string }[];
  columns: {
    name: string;
    type: string;
    missing: number;
    distinct: number;
    min?: number;
    max?: number;
    mean?: number;
    top?: { value: string; count: number }[];
  }[];
}

describe('training files and the datasets made from them', () => {
  let api: TestApi;
  let other: TestApi;
  let small: TestApi;
  let smallDir: string;
  const ids: Record<string, string> = {};

  const upload = async (who: TestApi, raw: string | Uint8Array<ArrayBuffer>, contentType: string, query = '') => {
    const response = await who.call(`/v1/training-files${query}`, who.keys.analyst, { raw, contentType });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const inspection = async (who: TestApi, id: string) =>
    (await (await who.call(`/v1/training-files/${id}/columns`, who.keys.reader)).json()) as Inspection;

  before(async () => {
    api = await testApi(deps, 'tfiles');
    other = await testApi(deps, 'tfiles-other');
    smallDir = await mkdtemp(path.join(tmpdir(), 'millrace-training-files-small-'));
    small = await testApi(deps, 'tfiles-small', loadConfig(), {
      settings: { uploadMaxBytes: 4096 },
      trainingFiles: new TrainingFiles(db, clickhouse, smallDir, log),
    });
  });
  after(async () => {
    await Promise.all([api.close(), other.close(), small.close()]);
    await db.end();
    await clickhouse.close();
  });

  it('inspects cars as CSV with semicolons, as JSON lines and as Parquet alike: types and exact profiles', async () => {
    const sent = {
      csv: await upload(api, csvOf(cars), 'text/csv', '?filename=cars.csv'),
      jsonl: await upload(api, jsonLinesOf(cars), 'application/x-ndjson'),
      parquet: await upload(api, parquetOf(cars), 'application/vnd.apache.parquet'),
    };
    for (const [format, { status, body }] of Object.entries(sent)) {
      assert.equal(status, 201, JSON.stringify(body));
      assert.equal(body.format, format);
      assert.deepEqual([body.rows, body.good_rows, body.bad_rows], [cars.length, cars.length, 0]);
      ids[format] = body.id as string;
    }
    assert.equal(sent.csv.body.delimiter, ';', 'found from the first lines');

    const csv = await inspection(api, ids.csv!);
    assert.deepEqual(
      csv.columns.map((c) => [c.name, c.type]),
      [
        ['Name', 'text'],
        ['Miles_per_Gallon', 'numeric'],
        ['Cylinders', 'numeric'],
        ['Displacement', 'numeric'],
        ['Horsepower', 'numeric'],
        ['Weight_in_lbs', 'numeric'],
        ['Acceleration', 'numeric'],
        ['Year', 'timestamp'],
        ['Origin', 'categorical'],
      ],
    );
    const column = (name: string) => csv.columns.find((c) => c.name === name)!;
    for (const name of COLUMNS) {
      const expected = expectedProfile(cars, name);
      assert.deepEqual([column(name).missing, column(name).distinct], [expected.missing, expected.distinct], name);
    }
    const horsepower = present(cars.map((c) => c.Horsepower));
    assert.equal(column('Horsepower').missing, 6, 'vega-datasets cars has 6 cars without horsepower');
    assert.deepEqual(
      [column('Horsepower').min, column('Horsepower').max],
      [Math.min(...horsepower), Math.max(...horsepower)],
    );
    assert.ok(Math.abs(column('Horsepower').mean! - mean(horsepower)) < 1e-9);
    const origins = expectedProfile(cars, 'Origin').counts;
    assert.deepEqual(
      column('Origin').top,
      [...origins].sort((a, b) => b[1] - a[1]).map(([value, count]) => ({ value, count })),
    );
    const years = cars.map((c) => Date.parse(`${c.Year}T00:00:00Z`));
    assert.deepEqual([column('Year').min, column('Year').max], [Math.min(...years), Math.max(...years)]);

    // the other formats give the very same inspection
    assert.deepEqual(await inspection(api, ids.jsonl!), csv);
    assert.deepEqual(await inspection(api, ids.parquet!), csv);
  });

  it('reads text in UTF-16 or Windows-1252, declared or detected, as the same rows', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(csvOf(cars), 'utf16le')]);
    const sent = await upload(api, new Uint8Array(utf16), 'text/csv');
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    assert.deepEqual(await inspection(api, sent.body.id as string), await inspection(api, ids.csv!));
    const latin = Buffer.from('city;n\ncafé;1\nnaïve;2\ncafé;3\n', 'latin1');
    for (const [contentType, query] of [
      ['text/csv; charset=windows-1252', ''],
      ['text/csv', '?charset=iso-8859-1'],
      ['text/csv', ''],
    ]) {
      const latinSent = await upload(api, new Uint8Array(latin), contentType!, query);
      assert.equal(latinSent.status, 201, JSON.stringify(latinSent.body));
      const city = (await inspection(api, latinSent.body.id as string)).columns[0]!;
      assert.deepEqual(city.top, [
        { value: 'café', count: 2 },
        { value: 'naïve', count: 1 },
      ]);
    }
  });

  it('refuses bad rows by number with the reason, and profiles the good ones', async () => {
    const rows = cars.slice(0, 60).map((c) => ({ ...c }));
    rows[4]!.Horsepower = 'abc' as unknown as number; // row 5
    rows[19]!.Year = '1970-02-30'; // row 20: no such day
    const lines = csvOf(rows).trimEnd().split('\n');
    lines[10] += ';extra'; // row 10 (line 11, after the header)
    const csv = await upload(api, lines.join('\n') + '\n', 'text/csv');
    assert.equal(csv.status, 201, JSON.stringify(csv.body));
    const found = await inspection(api, csv.body.id as string);
    assert.deepEqual(found.bad, [
      { row_number: 5, reason: 'column "Horsepower": "abc" is not a number' },
      { row_number: 10, reason: 'expected 9 fields, got 10' },
      { row_number: 20, reason: 'column "Year": "1970-02-30" is not an ISO 8601 date or time' },
    ]);
    assert.deepEqual([found.rows, found.good_rows, found.bad_rows], [60, 57, 3]);
    const good = rows.filter((_, i) => ![4, 9, 19].includes(i));
    const horsepower = found.columns.find((c) => c.name === 'Horsepower')!;
    assert.equal(horsepower.type, 'numeric', 'one bad value in sixty keeps the column numeric');
    assert.deepEqual(
      [horsepower.missing, horsepower.distinct],
      [expectedProfile(good, 'Horsepower').missing, expectedProfile(good, 'Horsepower').distinct],
    );

    const jsonl = jsonLinesOf(cars.slice(0, 8)).split('\n');
    jsonl[2] = '{"Name": "broken",'; // row 3
    jsonl[6] = '[1, 2]'; // row 7
    const sent = await upload(api, jsonl.join('\n'), 'application/x-ndjson');
    const bad = (await inspection(api, sent.body.id as string)).bad;
    assert.deepEqual(
      bad.map((b) => b.row_number),
      [3, 7],
    );
    assert.match(bad[0]!.reason, /^not JSON: /);
    assert.equal(bad[1]!.reason, 'not a JSON object');
  });

  it('a file past the cap is a 413, and nothing of it is kept, on disk or in Postgres', async () => {
    const before = await db.query('SELECT count(*)::int AS n FROM training_files WHERE tenant_id = $1', [small.tenant]);
    const refused = await upload(small, csvOf(cars), 'text/csv');
    assert.equal(refused.status, 413);
    assert.equal(refused.body.error, 'payload_too_large');
    assert.deepEqual(await readdir(smallDir), []);
    const after = await db.query('SELECT count(*)::int AS n FROM training_files WHERE tenant_id = $1', [small.tenant]);
    assert.deepEqual(after.rows, before.rows);
    assert.equal((await upload(small, csvOf(cars.slice(0, 10)), 'text/csv')).status, 201, 'under the cap');
  });

  it('refuses what is not its format: binary as CSV, CSV as Parquet, a broken Parquet file', async () => {
    const binary = await upload(api, new Uint8Array([0x61, 0x00, 0x62, 0x0a]), 'text/csv');
    assert.equal(binary.status, 415);
    const notParquet = await upload(api, csvOf(cars.slice(0, 5)), 'application/vnd.apache.parquet');
    assert.deepEqual([notParquet.status, notParquet.body.field], [400, 'format']);
    const broken = parquetOf(cars.slice(0, 5));
    broken.fill(7, 8, broken.length - 8);
    const unreadable = await upload(api, broken, 'application/octet-stream', '?format=parquet');
    assert.equal(unreadable.status, 400);
    assert.match(String(unreadable.body.message), /Parquet file cannot be read/);
  });

  it('makes a dataset of a file: the usable rows land in ClickHouse, as the streaming function reads them', async () => {
    const features = ['Cylinders', 'Horsepower', 'Weight_in_lbs', 'Year', 'Origin', 'Name'];
    const input = { name: 'cars', source: { file: ids.csv }, target: 'Miles_per_Gallon', features };
    const created = await api.call('/v1/training-datasets', api.keys.analyst, { body: input });
    assert.equal(created.status, 201, await created.clone().text());
    const body = (await created.json()) as {
      kind: string;
      version: number;
      task: string;
      rows: number;
      refused_rows: number;
      refused: { row_number: number; reason: string }[];
      label_balance: { mean: number; std: number };
    };
    const usable = cars.map((car, i) => ({ car, row: i + 1 })).filter(({ car }) => car.Miles_per_Gallon !== null);
    assert.deepEqual([body.kind, body.version, body.task], ['file', 1, 'regression']);
    assert.deepEqual([body.rows, body.refused_rows], [usable.length, cars.length - usable.length]);
    assert.deepEqual(
      body.refused.map((r) => r.row_number),
      cars.flatMap((c, i) => (c.Miles_per_Gallon === null ? [i + 1] : [])),
    );
    assert.equal(body.refused[0]!.reason, 'the target "Miles_per_Gallon" is missing');
    const mpg = usable.map(({ car }) => car.Miles_per_Gallon!);
    assert.ok(Math.abs(body.label_balance.mean - mean(mpg)) < 1e-9);
    assert.ok(Math.abs(body.label_balance.std - std(mpg)) < 1e-9);

    const dataset = await getUploadedDataset(db, api.tenant, 'cars');
    const streamed = [];
    for await (const row of streamUploadedRows(clickhouse, dataset)) streamed.push(row);
    assert.deepEqual(
      streamed.map(({ holdout: _, ...row }) => row),
      usable.map(({ car, row }) => ({
        row_number: row,
        features: {
          Cylinders: car.Cylinders,
          Horsepower: car.Horsepower,
          Weight_in_lbs: car.Weight_in_lbs,
          Year: Date.parse(`${car.Year}T00:00:00Z`),
          Origin: car.Origin,
          Name: car.Name,
        },
        target: car.Miles_per_Gallon,
      })),
    );
    const held = streamed.filter((r) => r.holdout).length;
    assert.ok(held > 40 && held < 120, `about a fifth held out: ${held}`);
    const [count] = await (
      await clickhouse.query({
        query: `SELECT count() AS n FROM training_rows WHERE tenant_id = ${sqlValue(api.tenant)} AND dataset = 'cars'`,
        format: 'JSONEachRow',
      })
    ).json<{ n: string }>();
    assert.equal(Number(count!.n), usable.length, 'no other row of the tenant under that name');

    const again = await api.call('/v1/training-datasets', api.keys.analyst, { body: input });
    assert.equal(again.status, 200, 'the same definition is the same version');
    const shown = (await (await api.call('/v1/training-datasets/cars', api.keys.reader)).json()) as {
      kind: string;
      version: number;
      rows: number;
      features: { name: string; type: string }[];
    };
    assert.deepEqual([shown.kind, shown.version, shown.rows], ['file', 1, usable.length]);
    assert.deepEqual(
      shown.features.find((f) => f.name === 'Year'),
      { name: 'Year', type: 'timestamp' },
    );
  });

  it('trains the multilayer perceptron on an uploaded dataset: better than the mean on the held-out cars', async () => {
    const dataset = await getUploadedDataset(db, api.tenant, 'cars');
    const input = await rowsTrainingInput(clickhouse, dataset);
    assert.deepEqual(input.features, [
      { name: 'Cylinders', kind: 'numeric' },
      { name: 'Horsepower', kind: 'numeric' },
      { name: 'Weight_in_lbs', kind: 'numeric' },
      { name: 'Year', kind: 'timestamp' },
      { name: 'Origin', kind: 'categorical' },
      { name: 'Name', kind: 'categorical' },
    ]);
    const trained = await trainFromRows({ ...input, params: { seed: 1 }, meta: { id: 'cars-mpg', version: '1' } });
    assert.equal(trained.train_rows + trained.holdout_rows, dataset.profile.rows);
    const { rmse } = trained.metrics as { rmse: number };
    const baseline = (trained.baseline as { rmse: number }).rmse;
    assert.ok(rmse < baseline * 0.6, `held-out RMSE ${rmse} against the mean's ${baseline}`);
  });

  it('classifies by a categorical target with the label balance per class; a declared type overrides the inferred one', async () => {
    const created = await api.call('/v1/training-datasets', api.keys.analyst, {
      body: {
        name: 'origin',
        source: { file: ids.parquet },
        target: 'Origin',
        features: ['Horsepower', 'Cylinders'],
        types: { Cylinders: 'categorical' },
      },
    });
    assert.equal(created.status, 201, await created.clone().text());
    const body = (await created.json()) as {
      task: string;
      features: { name: string; type: string }[];
      label_balance: { classes: { class: string; count: number }[] };
    };
    assert.equal(body.task, 'multiclass');
    assert.deepEqual(body.features[1], { name: 'Cylinders', type: 'categorical' });
    const counts = expectedProfile(cars, 'Origin').counts;
    assert.deepEqual(
      body.label_balance.classes,
      sortBy([...counts.keys()]).map((cls) => ({ class: cls, count: counts.get(cls) })),
    );
    const first = (await streamUploadedRows(clickhouse, await getUploadedDataset(db, api.tenant, 'origin')).next())
      .value!;
    assert.deepEqual(first.features, { Horsepower: cars[0]!.Horsepower, Cylinders: String(cars[0]!.Cylinders) });
    assert.equal(first.target, cars[0]!.Origin);
  });

  it('refuses a dataset that names what the file lacks, a text target, or a load that cannot hold: its version is never seen', async () => {
    const refused = async (body: Record<string, unknown>, field: string, message: RegExp) => {
      const response = await api.call('/v1/training-datasets', api.keys.analyst, {
        body: {
          name: 'cars',
          source: { file: ids.jsonl },
          target: 'Miles_per_Gallon',
          features: ['Cylinders'],
          ...body,
        },
      });
      const error = (await response.json()) as { field: string; message: string };
      assert.equal(response.status, 400, JSON.stringify(error));
      assert.deepEqual([error.field, error.message.match(message)?.length], [field, 1], error.message);
    };
    await refused({ features: ['Cylinders', 'Colour'] }, 'features.1', /no column "Colour"/);
    await refused({ target: 'Name' }, 'target', /"Name" is text/);
    await refused({ features: ['Origin', 'Miles_per_Gallon'] }, 'features.1', /target cannot be a feature/);
    await refused({ types: { Nope: 'numeric' } }, 'types.Nope', /no column "Nope"/);
    await refused({ source: { file: 'not-a-uuid' } }, 'source.file', /UUID/i);
    await refused({ features: [] }, 'features', /too small|>=1/i);
    // loaded, then refused: three classes are not binary
    await refused(
      { target: 'Origin', task: 'binary' },
      'task',
      /binary classification needs 2 classes; the target has 3/,
    );
    const versions = await db.query<{ version: number; state: string }>(
      "SELECT version, state FROM training_datasets WHERE tenant_id = $1 AND name = 'cars' ORDER BY version",
      [api.tenant],
    );
    assert.deepEqual(versions.rows, [
      { version: 1, state: 'ready' },
      { version: 2, state: 'failed' },
    ]);
    assert.equal((await api.call('/v1/training-datasets/cars?version=2', api.keys.reader)).status, 404);
    assert.equal(
      ((await (await api.call('/v1/training-datasets/cars', api.keys.reader)).json()) as { version: number }).version,
      1,
    );
    const job = await api.call('/v1/training-jobs', api.keys.analyst, {
      body: { dataset: 'cars', algorithm: 'logistic_regression' },
    });
    assert.equal(job.status, 400, 'the logistic and GBDT trainers read query datasets');
    assert.match(((await job.json()) as { message: string }).message, /built from an uploaded file/);
    const rowsOf = async (version: number) => {
      const [row] = await (
        await clickhouse.query({
          query: `SELECT count() AS n FROM training_rows WHERE ${versionRows(api.tenant, 'cars', version)}`,
          format: 'JSONEachRow',
        })
      ).json<{ n: string }>();
      return Number(row!.n);
    };
    await eventually(
      'the failed load deleted its rows',
      async () => ((await rowsOf(2)) === 0 ? true : undefined),
      30_000,
    );
    // a declared type no value fits: every row refused, nothing shown
    await refused(
      { features: ['Origin'], types: { Origin: 'numeric' } },
      'source.file',
      /no row of the file can be used: row 1: column "Origin": "USA" is not a number/,
    );
    assert.equal(
      ((await (await api.call('/v1/training-datasets/cars', api.keys.reader)).json()) as { version: number }).version,
      1,
    );
  });

  it('a load that died midway is never seen, and its version number is not taken again', async () => {
    const definition = (await getUploadedDataset(db, api.tenant, 'cars')).definition;
    const crashed = await reserveVersion(db, api.tenant, 'cars', {
      ...definition,
      features: definition.features.slice(1),
    });
    assert.ok(crashed.created);
    // half the rows in, then the process died: no markReady, no markFailed
    await clickhouse.insert({
      table: 'training_rows',
      values: [
        {
          tenant_id: api.tenant,
          dataset: 'cars',
          version: crashed.version,
          row_number: 1,
          number_columns: ['Miles_per_Gallon'],
          numbers: [18],
          string_columns: [],
          strings: [],
        },
      ],
      format: 'JSONEachRow',
    });
    const latest = (await (await api.call('/v1/training-datasets/cars', api.keys.reader)).json()) as {
      version: number;
    };
    assert.equal(latest.version, 1);
    assert.equal(
      (await api.call(`/v1/training-datasets/cars?version=${crashed.version}`, api.keys.reader)).status,
      404,
    );
    const next = await api.call('/v1/training-datasets', api.keys.analyst, {
      body: { name: 'cars', source: { file: ids.jsonl }, target: 'Miles_per_Gallon', features: ['Weight_in_lbs'] },
    });
    assert.equal(next.status, 201);
    assert.equal(((await next.json()) as { version: number }).version, crashed.version + 1);
  });

  it("keeps tenants apart: another tenant's file and dataset are 404 everywhere; the same name is its own", async () => {
    for (const url of [
      `/v1/training-files/${ids.csv}`,
      `/v1/training-files/${ids.csv}/columns`,
      '/v1/training-datasets/cars',
    ]) {
      const response = await other.call(url, other.keys.reader);
      assert.equal(response.status, 404, url);
    }
    const borrowed = await other.call('/v1/training-datasets', other.keys.analyst, {
      body: { name: 'cars', source: { file: ids.csv }, target: 'Miles_per_Gallon', features: ['Cylinders'] },
    });
    assert.equal(borrowed.status, 404);
    assert.equal(((await borrowed.json()) as { field: string }).field, 'source.file');

    const own = await upload(other, jsonLinesOf(cars.slice(0, 30)), 'application/x-ndjson');
    const mine = await other.call('/v1/training-datasets', other.keys.analyst, {
      body: { name: 'cars', source: { file: own.body.id }, target: 'Miles_per_Gallon', features: ['Cylinders'] },
    });
    assert.equal(mine.status, 201);
    const theirs = (await mine.json()) as { version: number; rows: number };
    assert.deepEqual(
      [theirs.version, theirs.rows],
      [1, cars.slice(0, 30).filter((c) => c.Miles_per_Gallon !== null).length],
    );
    const ours = (await (await api.call('/v1/training-datasets/cars', api.keys.reader)).json()) as { rows: number };
    assert.equal(ours.rows, cars.filter((c) => c.Miles_per_Gallon !== null).length, 'untouched by the other tenant');
    assert.equal(
      (await other.call('/v1/training-files', other.keys.reader, { raw: 'a,b\n1,2\n', contentType: 'text/csv' }))
        .status,
      403,
      'uploading takes the analytics permission',
    );
  });
});
