/**
 * The finance scoring processor: `finance.statements.raw` -> `finance.statements.scored`. A batch
 * is validated record by record (a statement that would make a ratio undefined goes to the DLQ
 * naming the field), then every valid statement is scored in one ONNX run per model.
 */
import type { ProcessorSpec, TransformResult } from '../runtime/index.ts';
import { FinanceScorer, type FinanceScore } from './score.ts';
import { parseStatement, type Statement } from './statement.ts';

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

export function financeScoring(topics = { input: 'finance.statements.raw', output: 'finance.statements.scored' }): ProcessorSpec<StatementRecord, ScoreRecord> {
  // loaded on the first batch, once: the sessions are the expensive part
  let scorer: Promise<FinanceScorer> | undefined;
  return {
    name: 'finance-scoring',
    ...topics,
    async transform(records) {
      const valid: { index: number; statement: Statement }[] = [];
      const results: TransformResult<ScoreRecord>[] = records.map((record, index) => {
        try {
          valid.push({ index, statement: parseStatement(record.value) });
          return [];
        } catch (error) {
          return error as Error;
        }
      });
      scorer ??= FinanceScorer.load({ intraOpNumThreads: 1, interOpNumThreads: 1 });
      const scores = await (await scorer).score(valid.map((v) => v.statement));
      valid.forEach(({ index }, i) => {
        const { value, topic, partition, offset } = records[index]!;
        results[index] = [
          {
            ...scores[i]!,
            id: value.id,
            tenant_id: value.tenant_id,
            event_time: value.event_time,
            source_topic: topic,
            source_partition: partition,
            source_offset: Number(offset),
            company_id: value.company_id,
            period: value.period_end,
          },
        ];
      });
      return results;
    },
  };
}
