/**
 * The tabular models as ONNX graphs of the ai.onnx.ml domain (written with onnx-proto, as
 * models/text-classifier/onnx.ts does): LinearClassifier for logistic regression,
 * TreeEnsembleClassifier for gradient boosting, both with a LOGISTIC post-transform; the
 * multilayer perceptron in plain operators (models/tabular/mlp-onnx.ts).
 *   input  features       float [N, width]  (models/tabular/encoding.ts)
 *   output label          int64 [N]         0 or 1
 *   output probabilities  float [N, 2]      [P(0), P(1)]
 */
import onnxProto from 'onnx-proto';
import type { GbdtModel } from './gbdt.ts';
import type { LogisticModel } from './logistic.ts';
import type { MlpModel } from './mlp.ts';
import { exportMlpOnnx } from './mlp-onnx.ts';
import { tensorInfo } from '../onnx-value-info.ts';

const { onnx } = onnxProto;
const { FLOAT, INT64 } = onnx.TensorProto.DataType;
const { FLOATS, INTS, STRING, STRINGS } = onnx.AttributeProto.AttributeType;
type Attribute = onnxProto.onnx.IAttributeProto;
type Node = onnxProto.onnx.INodeProto;

export type TabularModel = LogisticModel | GbdtModel | MlpModel;

const bytes = (s: string) => new TextEncoder().encode(s);
const attribute = {
  floats: (name: string, floats: number[]): Attribute => ({ name, type: FLOATS, floats }),
  ints: (name: string, ints: number[]): Attribute => ({ name, type: INTS, ints }),
  string: (name: string, s: string): Attribute => ({ name, type: STRING, s: bytes(s) }),
  strings: (name: string, strings: string[]): Attribute => ({ name, type: STRINGS, strings: strings.map(bytes) }),
};

/** An ai.onnx.ml classifier reading `features`, giving `label` and `probabilities`. */
const classifierNode = (opType: string, attributes: Attribute[]): Node => ({
  name: 'classifier',
  opType,
  domain: 'ai.onnx.ml',
  input: ['features'],
  output: ['label', 'probabilities'],
  attribute: attributes,
});

function linearNode(model: LogisticModel): Node {
  return classifierNode('LinearClassifier', [
    attribute.floats('coefficients', model.coefficients),
    attribute.floats('intercepts', [model.intercept]),
    attribute.ints('classlabels_ints', [0, 1]),
    attribute.string('post_transform', 'LOGISTIC'),
  ]);
}

function treeNode(model: GbdtModel): Node {
  const nodes = {
    treeIds: [] as number[],
    nodeIds: [] as number[],
    features: [] as number[],
    modes: [] as string[],
    values: [] as number[],
    trueIds: [] as number[],
    falseIds: [] as number[],
  };
  const leaves = { treeIds: [] as number[], nodeIds: [] as number[], weights: [] as number[] };
  model.trees.forEach((tree, t) =>
    tree.forEach((node, id) => {
      nodes.treeIds.push(t);
      nodes.nodeIds.push(id);
      if ('value' in node) {
        nodes.features.push(0);
        nodes.modes.push('LEAF');
        nodes.values.push(0);
        nodes.trueIds.push(0);
        nodes.falseIds.push(0);
        leaves.treeIds.push(t);
        leaves.nodeIds.push(id);
        leaves.weights.push(node.value);
      } else {
        nodes.features.push(node.feature);
        nodes.modes.push('BRANCH_LEQ');
        nodes.values.push(node.threshold);
        nodes.trueIds.push(node.left);
        nodes.falseIds.push(node.right);
      }
    }),
  );
  return classifierNode('TreeEnsembleClassifier', [
    attribute.ints('nodes_treeids', nodes.treeIds),
    attribute.ints('nodes_nodeids', nodes.nodeIds),
    attribute.ints('nodes_featureids', nodes.features),
    attribute.strings('nodes_modes', nodes.modes),
    attribute.floats('nodes_values', nodes.values),
    attribute.ints('nodes_truenodeids', nodes.trueIds),
    attribute.ints('nodes_falsenodeids', nodes.falseIds),
    attribute.ints('class_treeids', leaves.treeIds),
    attribute.ints('class_nodeids', leaves.nodeIds),
    // one score, for class 1: the binary case, [1 - p, p] after LOGISTIC
    attribute.ints(
      'class_ids',
      leaves.treeIds.map(() => 0),
    ),
    attribute.floats('class_weights', leaves.weights),
    attribute.floats('base_values', [model.base]),
    attribute.ints('classlabels_int64s', [0, 1]),
    attribute.string('post_transform', 'LOGISTIC'),
  ]);
}

export function exportTabularOnnx(
  model: TabularModel,
  width: number,
  meta: { id: string; version: string; columns: string[] },
): Uint8Array {
  // the same inputs and outputs, in plain operators (models/tabular/mlp-onnx.ts)
  if (model.algorithm === 'mlp') return exportMlpOnnx(model, { meta });
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [
      { domain: '', version: 17 },
      { domain: 'ai.onnx.ml', version: 3 },
    ],
    producerName: 'millrace models/tabular',
    producerVersion: meta.version,
    docString: `${model.algorithm} over encoded columns: ${meta.columns.join(', ')}`,
    metadataProps: [
      { key: 'id', value: meta.id },
      { key: 'version', value: meta.version },
      { key: 'columns', value: JSON.stringify(meta.columns) },
    ],
    graph: {
      name: meta.id,
      input: [tensorInfo('features', FLOAT, ['N', width])],
      output: [tensorInfo('label', INT64, ['N']), tensorInfo('probabilities', FLOAT, ['N', 2])],
      node: [model.algorithm === 'logistic_regression' ? linearNode(model) : treeNode(model)],
    },
  }).finish();
}
