/** The sample pipeline's record type: samples.flights.raw (real flights from vega-datasets). */
import type { Envelope } from './envelope.ts';

/** One flight: where from and to, how far (miles) and how late (minutes; negative is early). */
export interface SampleFlight extends Envelope {
  origin: string;
  destination: string;
  distance: number;
  delay: number;
}
