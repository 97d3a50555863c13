/**
 * The three published default models as ONNX graphs, each with the coefficients of its paper.
 * All three read the same [N, 12] double input (statement currency, millions; one row per
 * statement, columns in STATEMENT_AMOUNTS order) and output their score and a probability of
 * default, both [N] double.
 */
import { DataType, Graph } from './graph.ts';
import { STATEMENT_AMOUNTS, type PeriodKind, type StatementAmount } from '../../schemas/records/finance.ts';

export const INPUT_NAME = 'statements';

type Columns = Record<StatementAmount, string>;

/** Altman (1968): every firm of the original sample above 2.99 survived, every one below 1.81 failed. */
export const ALTMAN_ZONES = { safeAbove: 2.99, distressBelow: 1.81 } as const;

const GREY_CENTRE = 2.4; // (1.81 + 2.99) / 2
const EDGE_PROBABILITY = 0.05;

/** P = 1 / (1 + exp(k * (Z - z0))): z0 the grey-zone centre, k putting 0.95 and 0.05 on its edges. */
export const ALTMAN_PROBABILITY_MAPPING = {
  formula: 'P = 1 / (1 + exp(k * (Z - z0)))',
  z0: GREY_CENTRE,
  k: Math.log((1 - EDGE_PROBABILITY) / EDGE_PROBABILITY) / (ALTMAN_ZONES.safeAbove - GREY_CENTRE),
  anchors: [
    { z: ALTMAN_ZONES.distressBelow, probability: 1 - EDGE_PROBABILITY },
    { z: GREY_CENTRE, probability: 0.5 },
    { z: ALTMAN_ZONES.safeAbove, probability: EDGE_PROBABILITY },
  ],
  justification: [
    `z0 = ${GREY_CENTRE} is the centre of Altman's grey zone (${ALTMAN_ZONES.distressBelow} to ${ALTMAN_ZONES.safeAbove}) and maps to P = 0.5:`,
    'the discriminant function was estimated on a matched sample (33 bankrupt and 33 non-bankrupt manufacturers),',
    'so the middle of the zone where both groups occur is where they are equally likely.',
    `k = ln(19) / ${(ALTMAN_ZONES.safeAbove - GREY_CENTRE).toFixed(2)} puts P = 0.95 at Z = ${ALTMAN_ZONES.distressBelow} and P = 0.05 at Z = ${ALTMAN_ZONES.safeAbove}:`,
    'in the original sample every firm below 1.81 failed and every firm above 2.99 did not, and the function classified',
    '95% of the sample correctly one statement before failure, so the boundaries carry that 95% confidence.',
    'Because of the matched sample (a 50% prior) this is not a population default rate: it overstates the probability',
    'for a typical firm, which is why it only enters the quarterly ensemble as one of three votes beside Ohlson and',
    'Zmijewski, whose estimation samples held about one failed firm in twenty.',
  ].join(' '),
};

export interface FinanceModel {
  /** also the name of its file: `<id>.onnx` */
  id: string;
  version: string;
  source: string;
  formula: string;
  /** the score `graph` returns first */
  score: { name: string; description: string };
  /** the description of the probability `graph` returns second (the output named `probability`) */
  probability: string;
  precision: string;
  graph(g: Graph, c: Columns): [score: string, probability: string];
}

const DOUBLE = 'float64 throughout';

export const ohlson: FinanceModel = {
  id: 'ohlson-1980-model1',
  version: '1.0.0',
  source:
    'Ohlson, J. A. (1980). Financial Ratios and the Probabilistic Prediction of Bankruptcy. Journal of Accounting Research, 18(1), 109-131. Model 1 (failure within one year).',
  formula:
    'O = -1.32 - 0.407*ln(100*TA/PI) + 6.03*TL/TA - 1.43*(CA-CL)/TA + 0.0757*CL/CA - 1.72*OENEG - 2.37*NI/TA - 1.83*FFO/TL + 0.285*INTWO - 0.521*CHIN; ' +
    'OENEG = 1 if TL > TA; INTWO = 1 if NI < 0 and NI1 < 0; CHIN = (NI-NI1)/(|NI|+|NI1|), 0 when both are 0; P = 1/(1+exp(-O))',
  score: { name: 'o_score', description: "Ohlson's O-score, the log-odds of failure" },
  probability: 'probability of failure within one year',
  precision: DOUBLE,
  graph(g, c) {
    const perAssets = (x: string) => g.div(x, c.total_assets);
    const workingCapital = g.sub(c.current_assets, c.current_liabilities);
    const incomeChange = g.sub(c.net_income, c.net_income_prev);
    const incomeScale = g.add(g.abs(c.net_income), g.abs(c.net_income_prev));
    // both incomes 0: the change is 0 / 1 rather than 0 / 0
    const chin = g.div(incomeChange, g.where(g.equal(incomeScale, 0), 1, incomeScale));
    const o = g.linear(-1.32, [
      [-0.407, g.log(g.div(g.mul(100, c.total_assets), c.price_level_index))],
      [6.03, perAssets(c.total_liabilities)],
      [-1.43, perAssets(workingCapital)],
      [0.0757, g.div(c.current_liabilities, c.current_assets)],
      [-1.72, g.indicator(g.greater(c.total_liabilities, c.total_assets))],
      [-2.37, perAssets(c.net_income)],
      [-1.83, g.div(c.funds_from_operations, c.total_liabilities)],
      [0.285, g.indicator(g.and(g.less(c.net_income, 0), g.less(c.net_income_prev, 0)))],
      [-0.521, chin],
    ]);
    return [o, g.sigmoid(o)];
  },
};

export const zmijewski: FinanceModel = {
  id: 'zmijewski-1984',
  version: '1.0.0',
  source:
    'Zmijewski, M. E. (1984). Methodological Issues Related to the Estimation of Financial Distress Prediction Models. Journal of Accounting Research, 22 (Supplement), 59-82. Probit model.',
  formula: 'X = -4.336 - 4.513*NI/TA + 5.679*TL/TA + 0.004*CA/CL; P = PHI(X) = 0.5*(1 + erf(X/sqrt(2)))',
  score: { name: 'x_score', description: "Zmijewski's probit index X" },
  probability: 'probability of financial distress, the standard normal CDF of X',
  precision:
    "float64, except Erf: onnxruntime's CPU provider has no double Erf kernel, so X/sqrt(2) is cast to float32 for Erf alone (error in P below 1e-7)",
  graph(g, c) {
    const x = g.linear(-4.336, [
      [-4.513, g.div(c.net_income, c.total_assets)],
      [5.679, g.div(c.total_liabilities, c.total_assets)],
      [0.004, g.div(c.current_assets, c.current_liabilities)],
    ]);
    const erf = g.cast(g.op('Erf', [g.cast(g.mul(x, Math.SQRT1_2), DataType.FLOAT)]), DataType.DOUBLE);
    return [x, g.mul(0.5, g.add(1, erf))];
  },
};

export const altman: FinanceModel = {
  id: 'altman-1968',
  version: '1.0.0',
  source:
    'Altman, E. I. (1968). Financial Ratios, Discriminant Analysis and the Prediction of Corporate Bankruptcy. The Journal of Finance, 23(4), 589-609.',
  formula: `Z = 1.2*(CA-CL)/TA + 1.4*RE/TA + 3.3*EBIT/TA + 0.6*MVE/TL + 1.0*S/TA; ${ALTMAN_PROBABILITY_MAPPING.formula}`,
  score: { name: 'z_score', description: "Altman's Z-score: safe above 2.99, distress below 1.81, grey between" },
  probability: 'Z mapped to a probability of failure by the documented logistic curve',
  precision: DOUBLE,
  graph(g, c) {
    const perAssets = (x: string) => g.div(x, c.total_assets);
    const z = g.linear(0, [
      [1.2, perAssets(g.sub(c.current_assets, c.current_liabilities))],
      [1.4, perAssets(c.retained_earnings)],
      [3.3, perAssets(c.ebit)],
      [0.6, g.div(c.market_value_equity, c.total_liabilities)],
      [1.0, perAssets(c.sales)],
    ]);
    const { k, z0 } = ALTMAN_PROBABILITY_MAPPING;
    return [z, g.sigmoid(g.mul(k, g.sub(z0, z)))];
  },
};

export const FINANCE_MODELS = [ohlson, zmijewski, altman] as const;

/** The ONNX file a model is built into and loaded from. */
export const onnxFileOf = (model: FinanceModel): string => `${model.id}.onnx`;

export function buildGraph(model: FinanceModel): Graph {
  const g = new Graph(model.id);
  const [score, probability] = model.graph(g, g.input(INPUT_NAME, STATEMENT_AMOUNTS));
  g.output(model.score.name, score, model.score.description);
  g.output('probability', probability, model.probability);
  return g;
}

/** Each period kind's ensemble: the mean of these models' probabilities. */
export const ENSEMBLES = {
  annual: [ohlson, zmijewski],
  quarterly: [ohlson, zmijewski, altman],
} as const satisfies Record<PeriodKind, readonly FinanceModel[]>;
