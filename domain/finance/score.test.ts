import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { resolveCatalogue } from '../../core/topic-checks.ts';
import { buildFinanceModels } from '../../models/finance/build.ts';
import { loadManifest, MANIFEST_FILE, MODELS_DIR, readModel, sha256 } from '../../models/finance/manifest.ts';
import { altmanZone, DEFAULT_THRESHOLDS, riskCategory, riskThresholds } from './ensemble.ts';
import { FinanceScorer } from './score.ts';
import { parseStatement, StatementInvalidError, type Statement } from './statement.ts';
import type { FinanceScore } from '../../schemas/records/finance.ts';

const TOLERANCE = 1e-5;
const SCHEMAS_DIR = path.resolve(MODELS_DIR, '../../schemas');

// The formulas as the papers give them, written here apart from the graphs they check.

function ohlsonReference(s: Statement) {
  const {
    total_assets: ta,
    total_liabilities: tl,
    current_assets: ca,
    current_liabilities: cl,
    net_income: ni,
    net_income_prev: ni1,
  } = s;
  const oeneg = tl > ta ? 1 : 0;
  const intwo = ni < 0 && ni1 < 0 ? 1 : 0;
  const chin = ni === 0 && ni1 === 0 ? 0 : (ni - ni1) / (Math.abs(ni) + Math.abs(ni1));
  const o =
    -1.32 -
    0.407 * Math.log((100 * ta) / s.price_level_index) +
    (6.03 * tl) / ta -
    (1.43 * (ca - cl)) / ta +
    (0.0757 * cl) / ca -
    1.72 * oeneg -
    (2.37 * ni) / ta -
    (1.83 * s.funds_from_operations) / tl +
    0.285 * intwo -
    0.521 * chin;
  return { score: o, probability: 1 / (1 + Math.exp(-o)) };
}

/** Abramowitz & Stegun 7.1.26, |error| < 1.5e-7. */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return Math.sign(x) * (1 - poly * Math.exp(-x * x));
}

function zmijewskiReference(s: Statement) {
  const x =
    -4.336 -
    (4.513 * s.net_income) / s.total_assets +
    (5.679 * s.total_liabilities) / s.total_assets +
    (0.004 * s.current_assets) / s.current_liabilities;
  return { score: x, probability: 0.5 * (1 + erf(x / Math.SQRT2)) };
}

function altmanReference(s: Statement) {
  const ta = s.total_assets;
  const z =
    (1.2 * (s.current_assets - s.current_liabilities)) / ta +
    (1.4 * s.retained_earnings) / ta +
    (3.3 * s.ebit) / ta +
    (0.6 * s.market_value_equity) / s.total_liabilities +
    (1.0 * s.sales) / ta;
  // z0 = 2.40 (grey-zone centre), k = ln(19) / 0.59: P = 0.95 at 1.81, 0.05 at 2.99
  return { score: z, probability: 1 / (1 + Math.exp((Math.log(19) / 0.59) * (z - 2.4))) };
}

const references = {
  'ohlson-1980-model1': ohlsonReference,
  'zmijewski-1984': zmijewskiReference,
  'altman-1968': altmanReference,
};

const healthy = {
  period: 'annual',
  total_assets: 1000,
  total_liabilities: 600,
  current_assets: 400,
  current_liabilities: 300,
  net_income: 50,
  net_income_prev: 40,
  funds_from_operations: 80,
  retained_earnings: 200,
  ebit: 90,
  market_value_equity: 1500,
  sales: 1200,
  price_level_index: 100,
};

const edgeCases = [
  { net_income: -30 },
  { net_income: -30, net_income_prev: -10 },
  { net_income: 0, net_income_prev: 0 },
  { net_income: 0, net_income_prev: -5 },
  { net_income: 25, net_income_prev: -25 },
  { total_liabilities: 1400 },
  { total_liabilities: 1000 },
  {
    total_liabilities: 1400,
    net_income: -200,
    net_income_prev: -150,
    retained_earnings: -900,
    ebit: -120,
    market_value_equity: 0,
  },
  {
    total_assets: 0.5,
    total_liabilities: 0.2,
    current_assets: 0.1,
    current_liabilities: 0.3,
    net_income: 0.01,
    net_income_prev: 0.02,
    funds_from_operations: 0.01,
    retained_earnings: 0.1,
    ebit: 0.02,
    market_value_equity: 3,
    sales: 0.4,
  },
  { total_assets: 2e6, total_liabilities: 1.5e6, current_assets: 5e5, current_liabilities: 6e5 },
  { price_level_index: 250 },
  { period: 'quarterly' },
].map((patch) => ({ ...healthy, ...patch }));

const share = (min: number, max: number) => fc.double({ min, max, noNaN: true });
const income = fc.oneof(fc.constant(0), share(-0.5, -0.001), share(0.001, 0.5));
const generatedStatement = fc
  .record({
    period: fc.constantFrom('annual', 'quarterly'),
    ta: fc.double({ min: 0.5, max: 1e6, noNaN: true }),
    tl: share(0.05, 2.5),
    ca: share(0.01, 1),
    cl: share(0.01, 1.5),
    ni: income,
    ni1: income,
    ffo: share(-0.3, 0.6),
    re: share(-2, 1),
    ebit: share(-0.5, 0.5),
    mve: share(0, 5),
    sales: share(0, 3),
    pi: fc.oneof(fc.constant(100), share(50, 400)),
  })
  .map(({ period, ta, tl, ca, cl, ni, ni1, ffo, re, ebit, mve, sales, pi }) => ({
    period,
    total_assets: ta,
    total_liabilities: ta * tl,
    current_assets: ta * ca,
    current_liabilities: ta * cl,
    net_income: ta * ni,
    net_income_prev: ta * ni1,
    funds_from_operations: ta * ffo,
    retained_earnings: ta * re,
    ebit: ta * ebit,
    market_value_equity: ta * mve,
    sales: ta * sales,
    price_level_index: pi,
  }));

const statements: Statement[] = [...fc.sample(generatedStatement, { numRuns: 2000, seed: 1980 }), ...edgeCases].map(
  parseStatement,
);

const close = (actual: number, expected: number) => Number.isFinite(actual) && Math.abs(actual - expected) <= TOLERANCE;

let scorer: FinanceScorer;
before(async () => {
  scorer = await FinanceScorer.load();
});
after(() => scorer.release());

describe('finance models: the ONNX graphs against the published formulas', () => {
  it('the statements cover the edge cases: losses in both years, no income in either, liabilities over assets', () => {
    const count = (test: (s: Statement) => boolean) => statements.filter(test).length;
    assert.ok(statements.length >= 2000);
    assert.ok(count((s) => s.net_income < 0 && s.net_income_prev < 0) >= 100);
    assert.ok(count((s) => s.net_income < 0 && s.net_income_prev >= 0) >= 100);
    assert.ok(count((s) => s.net_income === 0 && s.net_income_prev === 0) >= 100);
    assert.ok(count((s) => s.total_liabilities > s.total_assets) >= 100);
    assert.ok(count((s) => s.price_level_index !== 100) >= 100);
  });

  for (const [id, reference] of Object.entries(references)) {
    it(`${id}: score and probability equal the formula to 1e-5 on every statement`, async () => {
      const outputs = (await scorer.run(statements)).get(id)!;
      assert.equal(outputs.score.length, statements.length);
      statements.forEach((s, i) => {
        const expected = reference(s);
        assert.ok(
          close(outputs.score[i]!, expected.score),
          `row ${i} ${JSON.stringify(s)}: score ${outputs.score[i]} != ${expected.score}`,
        );
        assert.ok(
          close(outputs.probability[i]!, expected.probability),
          `row ${i}: probability ${outputs.probability[i]} != ${expected.probability}`,
        );
      });
    });
  }

  it('scores a statement to the same bits alone, inside the large batch and at every place of small ones', async () => {
    const inBatch = await scorer.score(statements);
    // alone is how the API scores, a batch how the processor does: every statement, so that one in ten cannot hide
    for (const [i, statement] of statements.entries())
      assert.deepStrictEqual(await scorer.score([statement]), [inBatch[i]], `statement ${i} alone`);
    for (let size = 2; size <= 17; size++) {
      for (let start = 0; start + size <= 400; start += size) {
        const scores = await scorer.score(statements.slice(start, start + size));
        scores.forEach((score, i) =>
          assert.deepStrictEqual(score, inBatch[start + i], `statement ${start + i} at ${i} of a batch of ${size}`),
        );
      }
    }
    assert.deepEqual(await scorer.score([]), []);
  });
});

describe('finance ensemble and risk category', () => {
  let scores: FinanceScore[];
  before(async () => {
    scores = await scorer.score(statements);
  });

  it('carries every component, the Altman zone, the ensemble of the period kind and the model id and version', () => {
    const manifest = loadManifest();
    const kinds = new Set<string>();
    scores.forEach((score, i) => {
      const s = statements[i]!;
      const [o, x, z] = [ohlsonReference(s), zmijewskiReference(s), altmanReference(s)];
      const expected =
        s.period === 'annual'
          ? (o.probability + x.probability) / 2
          : (o.probability + x.probability + z.probability) / 3;
      kinds.add(score.kind);
      assert.equal(score.kind, s.period);
      assert.ok(close(score.ohlson_probability, o.probability));
      assert.ok(close(score.zmijewski_probability, x.probability));
      assert.ok(close(score.altman_probability, z.probability));
      assert.ok(close(score.altman_z, z.score));
      assert.equal(score.altman_zone, z.score > 2.99 ? 'safe' : z.score < 1.81 ? 'distress' : 'grey');
      assert.ok(close(score.probability, expected), `row ${i}: ensemble ${score.probability} != ${expected}`);
      assert.equal(score.model_id, manifest.id);
      assert.equal(score.model_version, manifest.version);
    });
    assert.deepEqual([...kinds].sort(), ['annual', 'quarterly']);
  });

  it('categorises the ensemble probability with the default thresholds, in every category', () => {
    const expected = (p: number) => (p < 0.01 ? 'low' : p < 0.05 ? 'medium' : p < 0.2 ? 'high' : 'critical');
    scores.forEach((score) => assert.equal(score.category, expected(score.probability)));
    assert.deepEqual(new Set(scores.map((s) => s.category)), new Set(['low', 'medium', 'high', 'critical']));
  });

  it('puts each threshold in the category it opens', () => {
    const cases: [number, string][] = [
      [0, 'low'],
      [0.009999, 'low'],
      [0.01, 'medium'],
      [0.049999, 'medium'],
      [0.05, 'high'],
      [0.199999, 'high'],
      [0.2, 'critical'],
      [1, 'critical'],
    ];
    for (const [p, category] of cases) assert.equal(riskCategory(p, DEFAULT_THRESHOLDS), category, `p = ${p}`);
  });

  it('takes configured thresholds, and refuses thresholds out of (0, 1) or out of order', async () => {
    const strict = riskThresholds({ medium: 0.001, high: 0.002, critical: 0.003 });
    assert.equal(riskCategory(0.0025, strict), 'high');
    const custom = await FinanceScorer.load({ thresholds: { high: 0.25, critical: 0.5 } });
    try {
      const statement = parseStatement(healthy);
      const [byDefault] = await scorer.score([statement]);
      const [byCustom] = await custom.score([statement]);
      assert.ok(byDefault!.probability >= 0.05 && byDefault!.probability < 0.2, `${byDefault!.probability}`);
      assert.equal(byDefault!.category, 'high');
      assert.equal(byCustom!.probability, byDefault!.probability);
      assert.equal(byCustom!.category, 'medium');
    } finally {
      await custom.release();
    }
    assert.throws(() => riskThresholds({ critical: 1.5 }), /risk threshold critical: expected < 1/);
    assert.throws(() => riskThresholds({ medium: 0 }), /risk threshold medium: expected > 0/);
    assert.throws(() => riskThresholds({ high: 0.3 }), /expected medium < high < critical/);
  });

  it('zones Z at the paper boundaries: 2.99 and 1.81 are grey', () => {
    assert.equal(altmanZone(2.9901), 'safe');
    assert.equal(altmanZone(2.99), 'grey');
    assert.equal(altmanZone(1.81), 'grey');
    assert.equal(altmanZone(1.8099), 'distress');
  });
});

describe('finance statements refused before scoring', () => {
  const refuses = (patch: Record<string, unknown>, field: string, message?: RegExp) =>
    assert.throws(
      () => parseStatement({ ...healthy, ...patch }),
      (e: unknown) => e instanceof StatementInvalidError && e.field === field && (message?.test(e.message) ?? true),
      `${JSON.stringify(patch)} should be refused naming ${field}`,
    );

  it('refuses a zero or negative denominator, naming it', () => {
    for (const field of [
      'total_assets',
      'total_liabilities',
      'current_assets',
      'current_liabilities',
      'price_level_index',
    ]) {
      refuses({ [field]: 0 }, field, /must be > 0/);
      refuses({ [field]: -1 }, field, /must be > 0/);
    }
    refuses({ market_value_equity: -1 }, 'market_value_equity', /must be >= 0/);
  });

  it('refuses a non-finite, missing or non-numeric field, naming it', () => {
    const bad = fc.constantFrom<unknown>(
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      undefined,
      null,
      '12',
      {},
    );
    const field = fc.constantFrom(...Object.keys(healthy).filter((k) => k !== 'period' && k !== 'price_level_index'));
    fc.assert(
      fc.property(field, bad, (name, value) => refuses({ [name]: value }, name, /expected a finite number/)),
      { seed: 1984, numRuns: 300 },
    );
    refuses({ price_level_index: Number.NaN }, 'price_level_index');
    refuses({ period: 'monthly' }, 'period');
  });

  it('refuses a denominator so small that a ratio is out of range, naming the denominator', () => {
    refuses({ total_assets: 1e-12 }, 'total_assets', /beside total_liabilities/);
    refuses({ total_liabilities: 1e-12 }, 'total_liabilities', /beside funds_from_operations/);
    refuses({ current_assets: 1e-12 }, 'current_assets', /beside current_liabilities/);
    refuses({ price_level_index: 1e-12 }, 'price_level_index', /beside total_assets/);
    refuses({ price_level_index: 1e16 }, 'total_assets', /ln\(100 \* total_assets/);
  });

  it('defaults the price level index to 100 and keeps only the model fields', () => {
    const withoutIndex: Record<string, unknown> = { ...healthy, id: 'st-1', company_id: 'acme' };
    delete withoutIndex.price_level_index;
    const s = parseStatement(withoutIndex);
    assert.equal(s.price_level_index, 100);
    assert.equal('company_id' in s, false);
  });
});

describe('finance model files and manifest', () => {
  const manifest = loadManifest();

  it('names each .onnx file by its sha256, and describes inputs, outputs and sources', () => {
    assert.deepEqual(manifest.models.map((m) => m.id).sort(), ['altman-1968', 'ohlson-1980-model1', 'zmijewski-1984']);
    for (const m of manifest.models) {
      assert.equal(sha256(readFileSync(path.join(MODELS_DIR, m.file))), m.sha256, m.file);
      assert.equal(m.inputs[0]!.columns.length, 12);
      assert.deepEqual(m.outputs.map((o) => o.name).at(-1), 'probability');
    }
    const raw = JSON.parse(readFileSync(path.join(MODELS_DIR, MANIFEST_FILE), 'utf8'));
    for (const m of raw.models) assert.match(m.source, /\((1968|1980|1984)\)/);
  });

  it("documents the Altman mapping, whose anchors are the curve's values at the zone boundaries", () => {
    const raw = JSON.parse(readFileSync(path.join(MODELS_DIR, MANIFEST_FILE), 'utf8'));
    const { z0, k, anchors, justification } = raw.models.find(
      (m: { id: string }) => m.id === 'altman-1968',
    ).probability_mapping;
    assert.ok(justification.length > 200);
    assert.deepEqual(
      anchors.map((a: { z: number }) => a.z),
      [1.81, 2.4, 2.99],
    );
    for (const { z, probability } of anchors)
      assert.ok(Math.abs(1 / (1 + Math.exp(k * (z - z0))) - probability) < 1e-12, `Z = ${z}`);
  });

  it('are what build.ts writes, byte for byte (committed files are up to date, the build is deterministic)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'millrace-finance-models-'));
    buildFinanceModels(dir);
    for (const file of [MANIFEST_FILE, ...manifest.models.map((m) => m.file)]) {
      assert.ok(readFileSync(path.join(dir, file)).equals(readFileSync(path.join(MODELS_DIR, file))), file);
    }
  });

  it('refuses to load a model file that is not the one the manifest names', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'millrace-finance-tampered-'));
    for (const file of [MANIFEST_FILE, ...manifest.models.map((m) => m.file)])
      copyFileSync(path.join(MODELS_DIR, file), path.join(dir, file));
    const target = manifest.models[0]!;
    const bytes = readFileSync(path.join(dir, target.file));
    bytes[bytes.length - 1]! ^= 1;
    writeFileSync(path.join(dir, target.file), bytes);
    assert.throws(
      () => readModel(dir, target),
      new RegExp(`${target.file}: sha256 [0-9a-f]{64} is not the manifest's`),
    );
    await assert.rejects(FinanceScorer.load({ dir }), /is not the manifest's/);
  });
});

describe('finance.statements.scored.avsc', () => {
  it('is a valid catalogue schema and takes a score with its envelope', async () => {
    const [topic] = resolveCatalogue(
      [
        {
          name: 'finance.statements.scored',
          partitions: 6,
          cleanup: { policy: 'delete', retentionMs: 1000 },
          schema: 'finance.statements.scored.avsc',
        },
      ],
      SCHEMAS_DIR,
    );
    const [score] = await scorer.score([statements[0]!]);
    const record = {
      id: 'st-1',
      tenant_id: 'acme',
      event_time: 1_700_000_000_000,
      source_topic: 'finance.statements.raw',
      source_partition: 2,
      source_offset: 41,
      company_id: 'acme-corp',
      period: Date.UTC(2024, 11, 31) / 86_400_000,
      ...score,
    };
    assert.ok(topic!.type.isValid(record), JSON.stringify(record));
    const decoded = topic!.type.fromBuffer(topic!.type.toBuffer(record)) as FinanceScore;
    assert.deepEqual({ ...decoded }, record);
  });
});
