/** The finance-scoring processor's component spec (what `millrace help finance-scoring` prints). */
import { POSTGRES_URL } from '../../core/component-fields.ts';
import { processorComponent } from '../component.ts';

/**
 * `finance-scoring`: financial statements -> default probabilities and a risk category.
 *
 * @example
 * ```sh
 * FINANCE_RISK_THRESHOLDS=0.02,0.10,0.30 npx millrace processor finance-scoring
 * ```
 */
export const financeScoringComponent = processorComponent({
  name: 'finance-scoring',
  description:
    'Scores financial statements with default-probability models: Ohlson (1980), Zmijewski (1984) and Altman (1968), as ONNX graphs, and their ensemble with a risk category. ' +
    'A batch is validated record by record, then every valid statement is scored in one ONNX run per model, by the active version of `finance.default-probability` ' +
    'in the model registry, followed without a restart (each score names the version). On start the bundled models/finance version is registered, and activated if none is. ' +
    'A statement that would make a ratio undefined goes to the DLQ naming the field.',
  input: 'finance.statements.raw',
  output: 'finance.statements.scored',
  env: [
    {
      name: 'FINANCE_RISK_THRESHOLDS',
      type: 'probabilities',
      default: '0.01,0.05,0.20',
      description:
        'ensemble probabilities at which the risk categories medium, high and critical start (three ascending, in (0, 1))',
      example: '0.02,0.10,0.30',
    },
    { ...POSTGRES_URL, description: 'the Postgres database: the model registry' },
  ],
  example: [
    'npx millrace processor finance-scoring',
    '# statements arrive from POST /v1/predictions/annual|quarterly, POST /v1/predictions/bulk, or any producer of finance.statements.raw',
    'npx millrace consume --topic finance.statements.scored --from-beginning',
  ].join('\n'),
});
