/** The platform's own catalogue (schemas/catalogue.ts), resolved once and looked up by name. */
import path from 'node:path';
import { catalogue } from '../schemas/catalogue.ts';
import { loadConfig } from './config.ts';
import { recordKey } from '../schemas/topic-spec.ts';
import { CatalogueError, resolveCatalogue, type ResolvedTopic } from './topic-checks.ts';

let resolved: ResolvedTopic[] | undefined;

/**
 * The platform catalogue with every schema read and checked; resolved once per process.
 *
 * @example
 * for (const topic of loadCatalogue()) log.info({ topic: topic.name, partitions: topic.partitions });
 */
export function loadCatalogue(): ResolvedTopic[] {
  resolved ??= resolveCatalogue(catalogue, path.join(loadConfig().repoRoot, 'schemas'));
  return resolved;
}

/**
 * One topic of the catalogue; an unknown name throws CatalogueError listing the known ones.
 *
 * @example
 * const { partitions, subject } = topicByName('market.quotes.raw');
 */
export function topicByName(name: string): ResolvedTopic {
  const topic = loadCatalogue().find((t) => t.name === name);
  if (!topic) {
    const known = loadCatalogue()
      .map((t) => t.name)
      .join(', ');
    throw new CatalogueError(`unknown topic "${name}"; the catalogue has: ${known}`);
  }
  return topic;
}

const specs = new Map(catalogue.map((t) => [t.name, t]));

/**
 * The Kafka key of a record of `topic`: its catalogue `key` fields joined by ':', or its id when it
 * declares none or the catalogue does not have it (a test's own topic). Reads the declarations only,
 * no schema files.
 */
export const catalogueKey = <T extends { id: string }>(topic: string, value: T): string =>
  recordKey(specs.get(topic) ?? {}, value);
