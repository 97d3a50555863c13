/** The sample pipeline's sinks: `samples.flights.raw` into `samples_flights` in ClickHouse and in Postgres. */
import { defineSink, type SinkSpec } from './runtime/spec.ts';
import type { SampleFlight } from '../../schemas/records/samples.ts';
import { copied, eventTime, sourcePosition } from './columns.ts';

const columns = {
  ...copied<SampleFlight>('id', 'tenant_id'),
  ...eventTime,
  ...copied<SampleFlight>('origin', 'destination', 'distance', 'delay'),
};

/**
 * `samples-flights-clickhouse`: samples.flights.raw -> ClickHouse `samples_flights`.
 *
 * @example
 * ```sh
 * npx millrace sink samples-flights-clickhouse
 * ```
 */
export const flightsToClickHouse: SinkSpec<SampleFlight> = defineSink<SampleFlight>({
  name: 'samples-flights-clickhouse',
  description:
    'The sample flights, as produced, into ClickHouse: the `flights` analytics view and the training datasets of tabular models read them.',
  topic: 'samples.flights.raw',
  target: 'clickhouse',
  table: 'samples_flights',
  key: ['tenant_id', 'id'],
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
export const flightsToPostgres: SinkSpec<SampleFlight> = defineSink<SampleFlight>({
  name: 'samples-flights-postgres',
  description: "The sample flights, as produced, into Postgres: the sample pipeline's second database.",
  topic: 'samples.flights.raw',
  target: 'postgres',
  table: 'samples_flights',
  key: ['tenant_id', 'id'],
  columns: {
    ...columns,
    ...sourcePosition,
  },
});
