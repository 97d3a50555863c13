/**
 * The one list of the sinks `millrace sink <name>` can run, by name: their specs only, so what reads
 * them (the component table, `millrace help`) loads no writer, client or runtime.
 */
import type { SinkSpec } from './runtime/spec.ts';
import { classifiedToClickHouse } from './catalog-rows.ts';
import { scoresToClickHouse, scoresToPostgres } from './finance-scores.ts';
import { indicatorsToClickHouse, latestToPostgres, quotesToClickHouse } from './market.ts';
import { modelScoresToClickHouse, shadowScoresToClickHouse } from './model-scores.ts';
import { flightsToClickHouse, flightsToPostgres } from './samples-flights.ts';

// each spec has its own record type; the registry only needs to run them
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const sinks: Record<string, SinkSpec<any>> = {
  [flightsToClickHouse.name]: flightsToClickHouse,
  [flightsToPostgres.name]: flightsToPostgres,
  [scoresToClickHouse.name]: scoresToClickHouse,
  [scoresToPostgres.name]: scoresToPostgres,
  [classifiedToClickHouse.name]: classifiedToClickHouse,
  [quotesToClickHouse.name]: quotesToClickHouse,
  [indicatorsToClickHouse.name]: indicatorsToClickHouse,
  [latestToPostgres.name]: latestToPostgres,
  [modelScoresToClickHouse.name]: modelScoresToClickHouse,
  [shadowScoresToClickHouse.name]: shadowScoresToClickHouse,
};
