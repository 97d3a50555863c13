/**
 * The known stream the chaos harness drives: real flights (flights-3m.parquet) to
 * samples.flights.raw, statements to finance.statements.raw and real film titles (vega-datasets
 * movies.json) as uploaded catalog rows to catalog.rows.raw, every record with an id unique to the
 * run, so the harness can tell at the end where each one is.
 */
import { readFileSync } from 'node:fs';
import { parquetFlights } from '../flights-parquet.ts';
import { statementStream } from '../finance-statements.ts';
import { vegaDataFile } from '../helpers.ts';

export const STREAM_TOPICS = {
  flights: 'samples.flights.raw',
  statements: 'finance.statements.raw',
  catalog: 'catalog.rows.raw',
} as const;
export type StreamName = keyof typeof STREAM_TOPICS;
export type StreamPlan = Record<StreamName, number>;

/** Splits `records` over the pipelines: most are flights (cheap), a tenth catalog rows (the classifier is the slowest). */
export function planFor(records: number): StreamPlan {
  const catalog = Math.round(records * 0.1);
  const statements = Math.round(records * 0.2);
  return { flights: records - catalog - statements, statements, catalog };
}

export const idPrefix = (run: string, stream: StreamName) => `chaos-${run}-${stream[0]}`;

/** Each stream's records, encoded for its topic, handed out in order. */
export class StreamSource {
  private readonly flights: AsyncGenerator<{ id: string }[]>;
  private flightBuffer: { id: string }[] = [];
  private flightAt = 0;
  private readonly statements: Generator<{ id: string }>;
  private readonly titles: string[];
  readonly taken: StreamPlan = { flights: 0, statements: 0, catalog: 0 };

  constructor(
    readonly run: string,
    readonly tenant: string,
    readonly plan: StreamPlan,
    readonly taxonomy: string,
  ) {
    this.flights = parquetFlights(plan.flights, { idPrefix: idPrefix(run, 'flights'), tenant });
    this.statements = statementStream(idPrefix(run, 'statements'), tenant);
    this.titles = (
      JSON.parse(readFileSync(vegaDataFile('movies.json'), 'utf8')) as { Title: string | number | null }[]
    ).map((m) => String(m.Title ?? 'Untitled'));
  }

  /** Reads the first flights now (decoding a parquet row group takes seconds), so the driver's clock starts with data in hand. */
  async prime(): Promise<void> {
    const chunk = await this.flights.next();
    if (!chunk.done) [this.flightBuffer, this.flightAt] = [chunk.value, 0];
  }

  get remaining(): number {
    return (Object.keys(this.plan) as StreamName[]).reduce((sum, s) => sum + this.plan[s] - this.taken[s], 0);
  }

  /** The next `count` records, spread over the streams in the plan's proportions, by topic. */
  async next(count: number): Promise<{ topic: string; values: { id: string }[] }[]> {
    const total = this.plan.flights + this.plan.statements + this.plan.catalog;
    const target = Math.min(total, total - this.remaining + count);
    const out: { topic: string; values: { id: string }[] }[] = [];
    for (const stream of Object.keys(STREAM_TOPICS) as StreamName[]) {
      // this stream's share by the end of the batch, so the streams progress together
      const want = Math.min(this.plan[stream], Math.round((this.plan[stream] * target) / total)) - this.taken[stream];
      if (want > 0) out.push({ topic: STREAM_TOPICS[stream], values: await this.take(stream, want) });
    }
    return out;
  }

  private async take(stream: StreamName, n: number): Promise<{ id: string }[]> {
    const values: { id: string }[] = [];
    for (let k = 0; k < n; k++) {
      const i = this.taken[stream]++;
      if (stream === 'statements') values.push(this.statements.next().value);
      else if (stream === 'catalog') values.push(this.catalogRow(i));
      else {
        while (this.flightAt === this.flightBuffer.length) {
          const chunk = await this.flights.next();
          if (chunk.done) throw new Error(`flights-3m.parquet ran out at ${i} flights`);
          [this.flightBuffer, this.flightAt] = [chunk.value, 0];
        }
        values.push(this.flightBuffer[this.flightAt++]!);
      }
    }
    return values;
  }

  private catalogRow(i: number) {
    const upload = idPrefix(this.run, 'catalog');
    const title = this.titles[i % this.titles.length]!;
    return {
      id: `${upload}:${i + 1}`,
      tenant_id: this.tenant,
      event_time: Date.now(),
      source: 'chaos',
      upload_id: upload,
      row_number: i + 1,
      fields: { title, format: i % 2 === 0 ? 'DVD' : 'Blu-ray' },
      taxonomy: this.taxonomy,
    };
  }
}
