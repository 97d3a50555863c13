/** The statements topic as this API's catalogue resolves it: what single and bulk predictions publish to. */
import { STATEMENTS_TOPIC } from '../connectors/sources/finance-bulk/statements.ts';
import type { ResolvedTopic } from '../core/topic-checks.ts';
import { ApiError } from './errors.ts';

/**
 * A getter for finance.statements.raw among `topics`: a 503 when the catalogue lacks it, asked at
 * each use, so an API that does not serve finance still starts.
 *
 * @example
 * ```ts
 * const topic = statementsTopicOf(deps.topics)(); // ResolvedTopic, or ApiError 503
 * ```
 */
export function statementsTopicOf(topics: readonly ResolvedTopic[]): () => ResolvedTopic {
  return () => {
    const topic = topics.find((t) => t.name === STATEMENTS_TOPIC);
    if (!topic) throw new ApiError(503, 'unavailable', `the topic ${STATEMENTS_TOPIC} is not in this API's catalogue`);
    return topic;
  };
}
