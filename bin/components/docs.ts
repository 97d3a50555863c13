/** docs/components.md: where it is and what it should say now (written by `npm run docs`, checked by docs.test.ts). */
import path from 'node:path';
import { packageRoot } from '../../core/package-root.ts';
import { pipelines } from '../../processors/pipelines.ts';
import { renderComponentsMarkdown } from './markdown.ts';
import { components } from './registry.ts';

export const DOCS_FILE = path.join(packageRoot, 'docs', 'components.md');

/**
 * The text docs/components.md must have: generated from the registered components and the pipelines.
 *
 * @example
 * ```ts
 * assert.equal(readFileSync(DOCS_FILE, 'utf8'), componentsDoc());
 * ```
 */
export function componentsDoc(): string {
  return renderComponentsMarkdown(components, pipelines);
}
