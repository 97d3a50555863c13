/** The console's pages, in nav order; the first a key may see opens when the hash names none. */
import { analytics } from './analytics.ts';
import { catalog } from './catalog.ts';
import { deadLetters } from './dead-letters.ts';
import { finance } from './finance.ts';
import { imageDatasets } from './image-datasets.ts';
import { models } from './models.ts';
import type { Page } from './page.ts';
import { pipelines } from './pipelines.ts';
import { schemas } from './schemas.ts';
import { stocks } from './stocks.ts';
import { topics } from './topics.ts';

export const PAGES: readonly Page[] = [
  finance,
  catalog,
  stocks,
  models,
  imageDatasets,
  analytics,
  topics,
  schemas,
  deadLetters,
  pipelines,
];
