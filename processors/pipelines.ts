/**
 * The pipelines `millrace start` runs, as data: for each, the processors and sinks it is made of
 * (names from processors/index.ts and connectors/sinks/index.ts, with their command-line options).
 * A new pipeline adds an entry here.
 */
import type { Role } from '../core/supervisor.ts';
export interface Pipeline {
  name: string;
  /** `millrace <args>` per role: `processor <name> ...` or `sink <name> ...` */
  roles: string[][];
  /**
   * Carries tens of records a minute, never a bulk stream: its roles run with a small young
   * generation (LOW_VOLUME_YOUNG_GENERATION_MB). At rest that holds about 17 MB less per role; at
   * bulk rates it would cost a processor about 13 % more CPU (BENCHMARKS.md, "Later the same day").
   */
  lowVolume?: true;
}

/** The young generation of a low-volume pipeline's roles, in MB (V8's default lets it grow to 48). */
const LOW_VOLUME_YOUNG_GENERATION_MB = 8;

export const pipelines: readonly Pipeline[] = [
  {
    // uploaded product rows -> genre and attributes -> ClickHouse (and uploads' result files)
    name: 'catalog.classification',
    roles: [
      ['processor', 'catalog-classification'],
      ['sink', 'catalog-rows-clickhouse'],
    ],
  },
  {
    // statements -> default probabilities (ONNX) -> Postgres (entities) and ClickHouse (analytics)
    name: 'finance.scoring',
    roles: [
      ['processor', 'finance-scoring'],
      ['sink', 'finance-scores-postgres'],
      ['sink', 'finance-scores-clickhouse'],
    ],
  },
  {
    // watched symbols' pages (the demo site serves stocks.csv) -> quotes -> indicators -> ClickHouse and Postgres
    name: 'market.quotes',
    lowVolume: true,
    roles: [
      ['source', 'fixture-site'],
      ['source', 'market-retriever'],
      ['processor', 'market-parser'],
      ['processor', 'market-features'],
      ['sink', 'market-quotes-clickhouse'],
      ['sink', 'market-indicators-clickhouse'],
      ['sink', 'market-latest-postgres'],
    ],
  },
  {
    // found images -> downloaded, validated, deduplicated -> dataset folders + Postgres (the API crawls, see connectors/sources/image-search)
    name: 'crawl.images',
    lowVolume: true,
    roles: [['processor', 'image-validation']],
  },
  {
    // real flights produced to samples.flights.raw land in both databases
    name: 'samples.flights',
    roles: [
      ['sink', 'samples-flights-clickhouse'],
      ['sink', 'samples-flights-postgres'],
    ],
  },
  {
    // tabular models' scores of flights (active: samples.flights.scored, shadow: samples.flights.shadow) -> ClickHouse;
    // the scoring processor follows one model: start it with `millrace processor model-scoring --model <id>`
    name: 'models.scoring',
    roles: [
      ['sink', 'model-scores-clickhouse'],
      ['sink', 'model-shadow-scores-clickhouse'],
    ],
  },
  {
    // training jobs (POST /v1/training-jobs) -> ONNX model versions in the registry; start more trainers to train more at once
    name: 'models.training',
    roles: [['trainer']],
  },
];

/** The supervised roles of `chosen` (every pipeline unless given), as `millrace start` and the chaos harness run them. */
export function pipelineRoles(chosen: readonly Pipeline[] = pipelines): Role[] {
  return chosen.flatMap((p) =>
    p.roles.map((args) => ({
      name: args.slice(0, 2).join(' '),
      args,
      ...(p.lowVolume ? { youngGenerationMb: LOW_VOLUME_YOUNG_GENERATION_MB } : {}),
    })),
  );
}
