/** The model-scoring processor's component spec (what `millrace help model-scoring` prints). */
import { POSTGRES_URL } from '../../core/component-fields.ts';
import { processorComponent } from '../component.ts';

/**
 * `model-scoring`: a tabular model's records -> its active and shadow versions' scores.
 *
 * @example
 * ```sh
 * npx millrace processor model-scoring --model acme.delays
 * ```
 */
export const modelScoringComponent = processorComponent({
  name: 'model-scoring',
  description:
    "Scores a tabular model's records with its active version, and with each shadow version beside it. " +
    "The records of the model's dataset (the sample flights) are scored by the active version into the public output " +
    "and by each shadow version into the side output, which only the ClickHouse sink reads, both in the batch's one transaction; " +
    'a shadow score carries the active score of the same record, so the comparison API counts exactly the records both scored. ' +
    'The versions are followed in the model registry (an activation, an attached or detached shadow) without a restart. ' +
    "Only records of the model's tenant are scored; the others produce nothing. Its consumer group is `millrace.processor.model-scoring.<model>`.",
  input: 'samples.flights.raw',
  output: 'samples.flights.scored',
  sideOutputs: ['samples.flights.shadow'],
  flags: [
    {
      name: '--model',
      type: 'string',
      required: true,
      description: 'the model (registry id) whose versions score',
      example: 'acme.delays',
    },
  ],
  env: [{ ...POSTGRES_URL, description: 'the Postgres database: the model registry and its shadows' }],
  example: [
    'npx millrace processor model-scoring --model acme.delays',
    'npx millrace consume --topic samples.flights.scored   # shadows: samples.flights.shadow',
  ].join('\n'),
});
