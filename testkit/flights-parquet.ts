/**
 * The 3 million real flights of vega-datasets flights-3m.parquet, streamed by row group (bounded
 * memory), in the sample pipeline's envelope (samples.flights.raw). Benchmarks and the chaos
 * harness read them here.
 */
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import type { SampleFlight } from '../schemas/records/samples.ts';
import { vegaDataFile } from './helpers.ts';

export interface ParquetFlightOptions {
  /** ids are `<idPrefix><row number>`; `f` by default */
  idPrefix?: string;
  tenant?: string;
}

/** The first `count` flights in row-group chunks. */
export async function* parquetFlights(
  count: number,
  { idPrefix = 'f', tenant = 'bench' }: ParquetFlightOptions = {},
): AsyncGenerator<SampleFlight[]> {
  const file = await asyncBufferFromFile(vegaDataFile('flights-3m.parquet'));
  const metadata = await parquetMetadataAsync(file);
  let start = 0;
  for (const group of metadata.row_groups) {
    const end = Math.min(start + Number(group.num_rows), count);
    if (start >= end) return;
    const chunk = (await parquetReadObjects({ file, metadata, rowStart: start, rowEnd: end, compressors })) as {
      date: Date;
      delay: bigint;
      distance: bigint;
      origin: string;
      destination: string;
    }[];
    yield chunk.map((f, i) => ({
      id: `${idPrefix}${start + i}`,
      tenant_id: tenant,
      event_time: f.date.getTime(),
      origin: f.origin,
      destination: f.destination,
      distance: Number(f.distance),
      delay: Number(f.delay),
    }));
    start = end;
  }
}
