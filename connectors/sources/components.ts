/**
 * The sources' component specs. `millrace source <name>` runs market-retriever and fixture-site
 * (bin/commands/source.ts); uploads, finance-bulk and image-search are driven by API requests and
 * run inside the API. crawler/ is no component: it is the polite Fetcher and fetch log they share.
 */
import type { ComponentSpec } from '../../core/component-spec.ts';
import { financeBulkComponent } from './finance-bulk/component.ts';
import { fixtureSiteComponent } from './fixture-site/component.ts';
import { imageSearchComponent } from './image-search/component.ts';
import { marketRetrieverComponent } from './market-retriever/component.ts';
import { uploadsComponent } from './uploads/component.ts';

export const sourceComponents: readonly ComponentSpec[] = [
  uploadsComponent,
  financeBulkComponent,
  marketRetrieverComponent,
  imageSearchComponent,
  fixtureSiteComponent,
];
