/**
 * The sinks `millrace sink <name>` can run, and how a spec becomes a running sink with the writer
 * of its target. Options override the spec (another topic or table, batch sizes) without code.
 */
import type pg from 'pg';
import type { ClickHouseClient } from '@clickhouse/client';
import { ClickHouseWriter } from './clickhouse/writer.ts';
import { PostgresWriter } from './postgres/writer.ts';
import { checkSpec, type SinkSpec } from './runtime/spec.ts';
import { runSink, type RunningSink, type SinkOptions } from './runtime/run.ts';
import type { SinkWriter } from './runtime/writer.ts';
export { sinks } from './specs.ts';

export interface SinkOverrides {
  name?: string;
  topic?: string;
  table?: string;
  batch?: SinkSpec['batch'];
  retry?: SinkSpec['retry'];
  consumer?: SinkSpec['consumer'];
}

export function withOverrides<T>(spec: SinkSpec<T>, overrides: SinkOverrides): SinkSpec<T> {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return { ...spec, ...defined };
}

export function writerFor<T>(
  spec: SinkSpec<T>,
  clients: { postgres?: pg.Pool; clickhouse?: ClickHouseClient } = {},
): SinkWriter {
  const resolved = checkSpec(spec);
  return resolved.target === 'postgres'
    ? new PostgresWriter(resolved, clients.postgres)
    : new ClickHouseWriter(resolved, clients.clickhouse);
}

/** Runs a sink with the writer of its target. */
export function startSink<T>(spec: SinkSpec<T>, options: SinkOptions = {}): Promise<RunningSink> {
  return runSink(spec, writerFor(spec), options);
}
