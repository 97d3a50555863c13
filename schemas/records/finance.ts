/** The finance topics' record types: finance.statements.raw and finance.statements.scored. */
import type { Envelope, Lineage } from './envelope.ts';

/** The period a statement covers; each has its ensemble of models. */
export const PERIOD_KINDS = ['annual', 'quarterly'] as const;
export type PeriodKind = (typeof PERIOD_KINDS)[number];

/**
 * A statement's amounts (statement currency, millions) in finance.statements.raw's field order,
 * which is also the column order of the default models' input tensor.
 */
export const STATEMENT_AMOUNTS = [
  'total_assets',
  'total_liabilities',
  'current_assets',
  'current_liabilities',
  'net_income',
  'net_income_prev',
  'funds_from_operations',
  'retained_earnings',
  'ebit',
  'market_value_equity',
  'sales',
  'price_level_index',
] as const;
export type StatementAmount = (typeof STATEMENT_AMOUNTS)[number];
/** Amounts a statement may leave out: price_level_index is 100 then. */
export const OPTIONAL_AMOUNTS = ['price_level_index'] as const;

/** A financial statement (finance.statements.raw): the one shape the API, bulk jobs, processor and models share. */
export type StatementRecord = Envelope & {
  source: string;
  company_id: string;
  period: PeriodKind;
  /** days since 1970-01-01 (Avro date) */
  period_end: number;
} & Record<StatementAmount, number>;

export type AltmanZone = 'safe' | 'grey' | 'distress';
export type RiskCategory = 'low' | 'medium' | 'high' | 'critical';

/** What the ensembles say of one statement. */
export interface FinanceScore {
  kind: PeriodKind;
  ohlson_probability: number;
  zmijewski_probability: number;
  altman_probability: number;
  altman_z: number;
  altman_zone: AltmanZone;
  probability: number;
  category: RiskCategory;
  /** the manifest's id and version, which pin every component model */
  model_id: string;
  model_version: string;
}

/** A scored statement with its lineage (finance.statements.scored). */
export type ScoreRecord = Omit<FinanceScore, 'kind'> &
  Envelope &
  Lineage & {
    company_id: string;
    period: number;
    kind: FinanceScore['kind'];
  };
