/** The processors `millrace processor <name>` can run: name -> spec from the command's options. */
import { createPostgresPool } from '../core/postgres.ts';
import { catalogClassification } from './catalog/index.ts';
import { activeGenreModels } from './catalog/active-genre-model.ts';
import { financeScoring } from './finance/index.ts';
import { marketFeatures, marketParser } from './market/index.ts';
import { modelScoring } from './model-scoring/index.ts';
import { imageValidationFromConfig } from './images/from-config.ts';
import { passthrough } from './passthrough/index.ts';
import type { ProcessorSpec } from './runtime/index.ts';

export interface ProcessorArgs {
  input?: string;
  output?: string;
  /** The model a scoring processor follows (model-scoring). */
  model?: string;
}

export type ProcessorFactory = (args: ProcessorArgs) => ProcessorSpec<never, { id: string }>;

const required = (args: ProcessorArgs, name: keyof ProcessorArgs, processor: string): string => {
  const value = args[name];
  if (!value) throw new Error(`processor ${processor} needs --${name}`);
  return value;
};

export const processors: Record<string, ProcessorFactory> = {
  'catalog-classification': (args) => {
    const db = createPostgresPool(3);
    const models = activeGenreModels(db);
    return catalogClassification(
      { db, model: (modelId) => models.get(modelId) },
      { input: args.input ?? 'catalog.rows.raw', output: args.output ?? 'catalog.rows.classified' },
    );
  },
  'finance-scoring': (args) =>
    financeScoring({
      input: args.input ?? 'finance.statements.raw',
      output: args.output ?? 'finance.statements.scored',
    }),
  'model-scoring': (args) =>
    modelScoring(required(args, 'model', 'model-scoring'), {
      input: args.input ?? 'samples.flights.raw',
      output: args.output ?? 'samples.flights.scored',
      shadow: 'samples.flights.shadow',
    }),
  'market-parser': (args) =>
    marketParser({ input: args.input ?? 'market.pages.raw', output: args.output ?? 'market.quotes.raw' }),
  'market-features': (args) =>
    marketFeatures({ input: args.input ?? 'market.quotes.raw', output: args.output ?? 'market.quotes.enriched' }),
  'image-validation': (args) =>
    imageValidationFromConfig({
      input: args.input ?? 'crawl.images.raw',
      output: args.output ?? 'crawl.images.accepted',
    }),
  passthrough: (args) =>
    passthrough({ input: required(args, 'input', 'passthrough'), output: required(args, 'output', 'passthrough') }),
};
