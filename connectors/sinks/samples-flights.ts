/** The sample pipeline's sinks: `samples.flights.raw` into `samples_flights` in ClickHouse and in Postgres. */
import { defineSink, type SinkSpec } from './runtime/spec.ts';

export interface SampleFlight {
  id: string;
  tenant_id: string;
  event_time: number;
  origin: string;
  destination: string;
  distance: number;
  delay: number;
}

const columns = {
  id: (f: SampleFlight) => f.id,
  tenant_id: (f: SampleFlight) => f.tenant_id,
  event_time: (f: SampleFlight) => new Date(f.event_time),
  origin: (f: SampleFlight) => f.origin,
  destination: (f: SampleFlight) => f.destination,
  distance: (f: SampleFlight) => f.distance,
  delay: (f: SampleFlight) => f.delay,
};

/**
 * `samples-flights-clickhouse`: samples.flights.raw -> ClickHouse `samples_flights`.
 *
 * @example
 * ```sh
 * npx millrace sink samples-flights-clickhouse
 * ```
 */
export const flightsToClickHouse: SinkSpec<SampleFlight> = defineSink({
  name: 'samples-flights-clickhouse',
  description: 'The sample flights, as produced, into ClickHouse: the `flights` analytics view and the training datasets of tabular models read them.',
  topic: 'samples.flights.raw',
  target: 'clickhouse',
  table: 'samples_flights',
  key: 'id',
  columns,
});

/**
 * `samples-flights-postgres`: samples.flights.raw -> Postgres `samples_flights`.
 *
 * @example
 * ```sh
 * npx millrace sink samples-flights-postgres
 * ```
 */
export const flightsToPostgres: SinkSpec<SampleFlight> = defineSink({
  name: 'samples-flights-postgres',
  description: "The sample flights, as produced, into Postgres: the sample pipeline's second database.",
  topic: 'samples.flights.raw',
  target: 'postgres',
  table: 'samples_flights',
  key: 'id',
  columns: {
    ...columns,
    source_partition: (_, meta) => meta.partition,
    source_offset: (_, meta) => meta.offset,
  },
});
