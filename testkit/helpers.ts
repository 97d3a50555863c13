/** Shared by the integration tests: real flights, throwaway topics provisioned the real way. */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKafka } from '../core/kafka.ts';
import { provisionTopics, registerSchemas } from '../core/provision.ts';
import { Registry } from '../core/schema-registry.ts';
import { resolveTopic, type ResolvedTopic } from '../core/topic-checks.ts';
import type { SampleFlight } from '../schemas/records/samples.ts';

export const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures');

export type Flight = SampleFlight;

interface RawFlight {
  date: string;
  delay: number;
  distance: number;
  origin: string;
  destination: string;
}

/** A file of the vega-datasets package (its `exports` hide the data folder from require). */
export function vegaDataFile(name: string): string {
  const entry = createRequire(import.meta.url).resolve('vega-datasets'); // <pkg>/build/index.js
  return path.join(path.dirname(entry), '..', 'data', name);
}

/** The 10,000 real flights of vega-datasets, with envelope fields (ids unique, times from the data). */
export function flights(count = 10_000): Flight[] {
  const raw = JSON.parse(readFileSync(vegaDataFile('flights-10k.json'), 'utf8')) as RawFlight[];
  return raw.slice(0, count).map((f, i) => ({
    id: `flight-${i}`,
    tenant_id: i % 2 === 0 ? 'acme' : 'globex',
    event_time: Date.parse(`${f.date.replace(/\//g, '-').replace(' ', 'T')}:00Z`),
    origin: f.origin,
    destination: f.destination,
    distance: f.distance,
    delay: f.delay,
  }));
}

/** A fresh `test.<name>_<random>.raw` topic with the flights schema, provisioned and registered. */
export async function flightTopic(name: string, partitions = 6, schema = 'flights.avsc'): Promise<ResolvedTopic> {
  const topic = resolveTopic(
    {
      name: `test.${name}_${randomBytes(4).toString('hex')}.raw`,
      partitions,
      cleanup: { policy: 'delete', retentionMs: 86_400_000 },
      schema,
    },
    fixtures,
  );
  await provisionTopics(createKafka('millrace-test'), [topic]);
  await registerSchemas(new Registry(), [topic]);
  return topic;
}

export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
