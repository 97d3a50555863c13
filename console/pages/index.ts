/** The console's pages, in nav order; the first opens when the hash names none. */
import { analytics } from './analytics.ts';
import { catalog } from './catalog.ts';
import { deadLetters } from './dead-letters.ts';
import { finance } from './finance.ts';
import { imageDatasets } from './image-datasets.ts';
import { models } from './models.ts';
import type { Page } from './page.ts';
import { stocks } from './stocks.ts';

export const PAGES: readonly Page[] = [finance, catalog, stocks, analytics, deadLetters, models, imageDatasets];
