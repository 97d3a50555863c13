/**
 * The processors' component specs, one per processor `millrace processor <name>` runs (index.ts
 * holds their factories; a test keeps the two lists in step). Data only: importing it loads no
 * transform, model or client.
 */
import type { ComponentSpec } from '../core/component-spec.ts';
import { catalogClassificationComponent } from './catalog/component.ts';
import { financeScoringComponent } from './finance/component.ts';
import { imageValidationComponent } from './images/component.ts';
import { marketFeaturesComponent, marketParserComponent } from './market/component.ts';
import { modelScoringComponent } from './model-scoring/component.ts';
import { passthroughComponent } from './passthrough/component.ts';

export const processorComponents: readonly ComponentSpec[] = [
  catalogClassificationComponent,
  financeScoringComponent,
  modelScoringComponent,
  marketParserComponent,
  marketFeaturesComponent,
  imageValidationComponent,
  passthroughComponent,
];
