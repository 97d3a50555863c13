/** The finance topics' record types: finance.statements.raw and finance.statements.scored. */

/** The envelope of a financial statement (finance.statements.raw); its figures are in domain/finance/statement.ts. */
export interface StatementRecord {
  id: string;
  tenant_id: string;
  event_time: number;
  source: string;
  company_id: string;
  period: 'annual' | 'quarterly';
  /** days since 1970-01-01 (Avro date) */
  period_end: number;
}

export type PeriodKind = 'annual' | 'quarterly';
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
export type ScoreRecord = Omit<FinanceScore, 'kind'> & {
  id: string;
  tenant_id: string;
  event_time: number;
  source_topic: string;
  source_partition: number;
  source_offset: number;
  company_id: string;
  period: number;
  kind: FinanceScore['kind'];
};
