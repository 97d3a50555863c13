/**
 * The multilayer perceptron (models/tabular/mlp.ts) as an ONNX graph of plain operators
 * (MatMul, Add, Relu, Softmax, ArgMax, Gather, Mul), behind its feature pipeline
 * (models/tabular/feature-pipeline.ts) when it has one:
 *   inputs  one per raw feature: float [N, 1] (numeric, timestamp; NaN = missing),
 *           string [N, 1] (categorical, boolean; "" = missing)
 *           or, without a pipeline, `features` float [N, width]
 *   classification  label string [N] (the class names) or int64 [N] (class indices, without
 *                   names); probabilities float [N, classes], in the order of the names
 *   regression      prediction float [N, 1]
 */
import onnxProto from 'onnx-proto';
import type { MlpModel } from './mlp.ts';
import { pipelineGraph, pipelineWidth, type FeaturePipeline } from './feature-pipeline.ts';
import { tensorInfo } from '../onnx-value-info.ts';

const { onnx } = onnxProto;
const { FLOAT, INT64, STRING } = onnx.TensorProto.DataType;
const { INT } = onnx.AttributeProto.AttributeType;
type Node = onnxProto.onnx.INodeProto;
type Tensor = onnxProto.onnx.ITensorProto;

const floats = (name: string, dims: number[], values: number[]): Tensor => ({
  name,
  dataType: FLOAT,
  dims,
  floatData: values,
});
const node = (opType: string, input: string[], output: string, attribute: Node['attribute'] = []): Node => ({
  name: output,
  opType,
  input,
  output: [output],
  attribute,
});

/** The network's nodes from `features` to `label` and `probabilities`, or to `prediction`. */
export function mlpGraph(model: MlpModel, classes?: string[]): { nodes: Node[]; initializers: Tensor[] } {
  const nodes: Node[] = [];
  const initializers: Tensor[] = [];
  let x = 'features';
  model.layers.forEach((layer, l) => {
    initializers.push(
      floats(`mlp/${l}/weights`, [layer.inputs, layer.outputs], layer.weights),
      floats(`mlp/${l}/bias`, [layer.outputs], layer.bias),
    );
    nodes.push(
      node('MatMul', [x, `mlp/${l}/weights`], `mlp/${l}/product`),
      node('Add', [`mlp/${l}/product`, `mlp/${l}/bias`], `mlp/${l}/sum`),
    );
    x = `mlp/${l}/sum`;
    if (l < model.layers.length - 1) {
      nodes.push(node('Relu', [x], `mlp/${l}/relu`));
      x = `mlp/${l}/relu`;
    }
  });
  if (model.target) {
    initializers.push(
      floats('mlp/target/std', [], [model.target.std]),
      floats('mlp/target/mean', [], [model.target.mean]),
    );
    nodes.push(
      node('Mul', [x, 'mlp/target/std'], 'mlp/target/scaled'),
      node('Add', ['mlp/target/scaled', 'mlp/target/mean'], 'prediction'),
    );
    return { nodes, initializers };
  }
  nodes.push(
    node('Softmax', [x], 'probabilities', [{ name: 'axis', type: INT, i: 1 }]),
    node('ArgMax', ['probabilities'], classes ? 'mlp/class' : 'label', [
      { name: 'axis', type: INT, i: 1 },
      { name: 'keepdims', type: INT, i: 0 },
    ]),
  );
  if (classes) {
    initializers.push({
      name: 'mlp/classes',
      dataType: STRING,
      dims: [classes.length],
      stringData: classes.map((c) => new TextEncoder().encode(c)),
    });
    nodes.push(node('Gather', ['mlp/classes', 'mlp/class'], 'label', [{ name: 'axis', type: INT, i: 0 }]));
  }
  return { nodes, initializers };
}

export function exportMlpOnnx(
  model: MlpModel,
  options: {
    /** Raw inputs through the pipeline; without one, the graph takes `features`. */
    pipeline?: FeaturePipeline;
    /** Class names (classification): the label output gives them; without, the class index. */
    classes?: string[];
    meta: { id: string; version: string; columns: string[] };
  },
): Uint8Array {
  const { pipeline, classes, meta } = options;
  const width = pipeline ? pipelineWidth(pipeline) : model.layers[0]!.inputs;
  const front = pipeline
    ? pipelineGraph(pipeline)
    : { inputs: [tensorInfo('features', FLOAT, ['N', width])], nodes: [] };
  const network = mlpGraph(model, classes);
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [
      { domain: '', version: 17 },
      { domain: 'ai.onnx.ml', version: 3 },
    ],
    producerName: 'millrace models/tabular',
    producerVersion: meta.version,
    docString: `mlp (${model.task}, layers ${[width, ...model.layers.map((l) => l.outputs)].join('-')}) over: ${meta.columns.join(', ')}`,
    metadataProps: [
      { key: 'id', value: meta.id },
      { key: 'version', value: meta.version },
      { key: 'columns', value: JSON.stringify(meta.columns) },
    ],
    graph: {
      name: meta.id,
      input: front.inputs,
      output: model.target
        ? [tensorInfo('prediction', FLOAT, ['N', 1])]
        : [
            tensorInfo('label', classes ? STRING : INT64, ['N']),
            tensorInfo('probabilities', FLOAT, ['N', model.outputs]),
          ],
      initializer: network.initializers,
      node: [...front.nodes, ...network.nodes],
    },
  }).finish();
}
