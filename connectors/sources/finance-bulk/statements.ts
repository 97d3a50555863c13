/**
 * Financial statements as the API takes them (one JSON statement, or one CSV / JSON-lines row of a
 * bulk file) and as `finance.statements.raw` carries them. Shared by the synchronous predictions
 * and the bulk jobs, so both refuse the same input the same way: a missing or non-numeric amount,
 * a date that is not a real day, then whatever `parseStatement` (the processor's own validation)
 * refuses, each naming the field.
 *
 * Ids are deterministic: the same tenant, company, period end and kind always give the same id, so
 * the statement published to Kafka, the row claimed in `finance_statements` and the score in
 * `finance_scores` (written by the API, then upserted by the pipeline) are one and the same.
 */
import { createHash } from 'node:crypto';
import { activeVersion, loadVersion } from '../../../models/model-registry.ts';
import { FINANCE_MODEL_ID } from '../../../models/finance/manifest.ts';
import { FinanceScorer } from '../../../domain/finance/score.ts';
import type { Pool } from '../../../core/postgres.ts';
import { parseStatement, StatementInvalidError, type Statement } from '../../../domain/finance/statement.ts';
import {
  OPTIONAL_AMOUNTS,
  PERIOD_KINDS,
  STATEMENT_AMOUNTS,
  type PeriodKind,
  type StatementAmount,
  type StatementRecord,
} from '../../../schemas/records/finance.ts';
import { MillraceError } from '../../../core/errors.ts';

export const STATEMENTS_TOPIC = 'finance.statements.raw';
type OptionalAmount = (typeof OPTIONAL_AMOUNTS)[number];
const isOptional = (name: StatementAmount): name is OptionalAmount =>
  (OPTIONAL_AMOUNTS as readonly string[]).includes(name);
/** The amounts a statement must give, in the schema's order. */
export const AMOUNTS = STATEMENT_AMOUNTS.filter(
  (name): name is Exclude<StatementAmount, OptionalAmount> => !isOptional(name),
);

/** Columns a bulk file must have (price_level_index is optional). */
export const REQUIRED_COLUMNS = ['company_id', 'period', 'period_end', ...AMOUNTS] as const;

export const MAX_COMPANY_ID_CHARS = 200;
const DAY_MS = 86_400_000;

/** A refused statement: the field at fault (when one is) and why. */
export class StatementInputError extends MillraceError {
  override name = 'StatementInputError';
  constructor(
    readonly field: string | null,
    readonly reason: string,
  ) {
    super(field ? `${field}: ${reason}` : reason, {
      code: 'invalid_statement',
      status: 400,
      details: field === null ? undefined : { field },
    });
  }
}

/** A statement that passed every check: the record to publish and what the scorer takes. */
export interface CheckedStatement {
  value: StatementRecord;
  statement: Statement;
  /** YYYY-MM-DD */
  periodEnd: string;
}

/** `fs_` + 32 hex digits of sha256 over tenant, company, period end and kind. */
export function statementId(tenantId: string, companyId: string, periodEnd: string, kind: PeriodKind): string {
  return `fs_${createHash('sha256')
    .update(JSON.stringify([tenantId, companyId, periodEnd, kind]))
    .digest('hex')
    .slice(0, 32)}`;
}

/** Days since 1970-01-01 of a YYYY-MM-DD that names a real day, else undefined. */
export function epochDay(ymd: string): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd);
  if (!match) return undefined;
  const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const ms = Date.UTC(y, m - 1, d);
  const date = new Date(ms);
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return undefined;
  return ms / DAY_MS;
}

export const isoDay = (days: number): string => new Date(days * DAY_MS).toISOString().slice(0, 10);

export interface StatementFields {
  company_id: string;
  period_end: string;
  amounts: Partial<Record<StatementAmount, number>>;
}

/**
 * Checks a statement whose shape is already known (JSON numbers, text id and date) and builds its
 * record. Throws StatementInputError naming the field.
 */
export function checkStatement(
  tenantId: string,
  kind: PeriodKind,
  fields: StatementFields,
  source: string,
  eventTime = Date.now(),
): CheckedStatement {
  const companyId = fields.company_id.trim();
  if (companyId === '') throw new StatementInputError('company_id', 'must not be empty');
  if (companyId.length > MAX_COMPANY_ID_CHARS)
    throw new StatementInputError('company_id', `longer than ${MAX_COMPANY_ID_CHARS} characters`);
  const days = epochDay(fields.period_end);
  if (days === undefined)
    throw new StatementInputError(
      'period_end',
      `expected a real day as YYYY-MM-DD, got ${JSON.stringify(fields.period_end)}`,
    );
  const amounts = {} as Record<StatementAmount, number>;
  for (const name of AMOUNTS) {
    const v = fields.amounts[name];
    if (v === undefined) throw new StatementInputError(name, 'missing');
    if (!Number.isFinite(v)) throw new StatementInputError(name, 'expected a finite number');
    amounts[name] = v;
  }
  amounts.price_level_index = fields.amounts.price_level_index ?? 100;
  let statement: Statement;
  try {
    statement = parseStatement({ period: kind, ...amounts });
  } catch (error) {
    if (error instanceof StatementInvalidError)
      throw new StatementInputError(error.field, error.message.slice(error.field.length + 2));
    throw error;
  }
  const periodEnd = isoDay(days);
  return {
    statement,
    periodEnd,
    value: {
      id: statementId(tenantId, companyId, periodEnd, kind),
      tenant_id: tenantId,
      event_time: eventTime,
      source,
      company_id: companyId,
      period: kind,
      period_end: days,
      ...amounts,
    },
  };
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** One row of a bulk file (every value text, as the file has it) -> a checked statement. */
export function checkRow(tenantId: string, values: Record<string, string>, eventTime: number): CheckedStatement {
  const text = (name: string) => (values[name] ?? '').trim();
  const period = text('period');
  if (period === '') throw new StatementInputError('period', 'missing');
  if (!(PERIOD_KINDS as readonly string[]).includes(period))
    throw new StatementInputError('period', `expected annual or quarterly, got ${JSON.stringify(period)}`);
  const companyId = text('company_id');
  if (companyId === '') throw new StatementInputError('company_id', 'missing');
  const periodEnd = text('period_end');
  if (periodEnd === '') throw new StatementInputError('period_end', 'missing');
  const amounts: Partial<Record<StatementAmount, number>> = {};
  for (const name of STATEMENT_AMOUNTS) {
    const v = text(name);
    if (v === '') {
      if (isOptional(name)) continue;
      throw new StatementInputError(name, 'missing');
    }
    if (!NUMBER.test(v))
      throw new StatementInputError(
        name,
        `expected a number, got ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`,
      );
    amounts[name] = Number(v);
  }
  return checkStatement(
    tenantId,
    period as PeriodKind,
    { company_id: companyId, period_end: periodEnd, amounts },
    'bulk',
    eventTime,
  );
}

let loaded: { version: string; scorer: Promise<FinanceScorer> } | undefined;

/**
 * The API process's scorer: the registry's active version of the finance models, as the processor
 * uses (read per request, one indexed row), reloaded when another version is activated; the bundled
 * models/finance while the registry has none (before the processor first registered it).
 */
export async function sharedScorer(db: Pool): Promise<FinanceScorer> {
  const active = await activeVersion(db, FINANCE_MODEL_ID);
  const version = active?.version ?? 'bundled';
  if (loaded?.version !== version) {
    const previous = loaded;
    const scorer = active
      ? loadVersion(db, FINANCE_MODEL_ID, active.version, (dir) => FinanceScorer.load({ dir }))
      : FinanceScorer.load();
    loaded = { version, scorer };
    scorer.catch(() => {
      if (loaded?.scorer === scorer) loaded = undefined; // a failed load is tried again by the next request
    });
    // requests already scoring with the previous version hold it; it is released once they are done
    if (previous)
      void previous.scorer.then(
        (s) => setTimeout(() => void s.release().catch(() => undefined), 30_000).unref(),
        () => undefined,
      );
  }
  return loaded.scorer;
}
