/**
 * The linear text classifier as an ONNX graph (written with onnx-proto). Hashed features are
 * sparse, so the graph takes each text as its non-zero buckets, padded to the batch's longest:
 *   indices int64 [N, K], values float [N, K]  (padding: index 0, value 0)
 *   Gather(W, indices) [N, K, C] * values [N, K, 1] -> ReduceSum over K -> + bias -> Softmax
 *   probabilities float [N, C], classes in the order of the model's labels (stored in metadata)
 * A dense [N, 2^17] input would be half a megabyte per text; this is a few kilobytes.
 */
import onnxProto from 'onnx-proto';
import type { TextModel } from './model.ts';
import { tensorInfo } from '../onnx-value-info.ts';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const INT = onnx.AttributeProto.AttributeType.INT;

/** A node whose one output is named as the node, with integer attributes. */
const node = (opType: string, name: string, input: string[], ints: Record<string, number> = {}) => ({
  name,
  opType,
  input,
  output: [name],
  attribute: Object.entries(ints).map(([attribute, i]) => ({ name: attribute, type: INT, i })),
});

export function exportOnnx(model: TextModel, meta: { id: string; version: string }): Uint8Array {
  const classes = model.labels.length;
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'millrace models/text-classifier',
    producerVersion: meta.version,
    docString: 'Softmax regression over hashed word and character n-grams (models/text-classifier/features.ts).',
    metadataProps: [
      { key: 'id', value: meta.id },
      { key: 'version', value: meta.version },
      { key: 'labels', value: JSON.stringify(model.labels) },
      { key: 'dimensions', value: String(model.dimensions) },
    ],
    graph: {
      name: meta.id,
      input: [tensorInfo('indices', INT64, ['N', 'K']), tensorInfo('values', FLOAT, ['N', 'K'])],
      output: [tensorInfo('probabilities', FLOAT, ['N', classes])],
      initializer: [
        {
          name: 'weights',
          dataType: FLOAT,
          dims: [model.dimensions, classes],
          rawData: new Uint8Array(model.weights.buffer, model.weights.byteOffset, model.weights.byteLength),
        },
        { name: 'bias', dataType: FLOAT, dims: [classes], floatData: [...model.bias] },
        { name: 'axis_k', dataType: INT64, dims: [1], int64Data: [1] },
        { name: 'axis_last', dataType: INT64, dims: [1], int64Data: [2] },
      ],
      node: [
        node('Gather', 'rows', ['weights', 'indices'], { axis: 0 }),
        node('Unsqueeze', 'values_3d', ['values', 'axis_last']),
        node('Mul', 'weighted', ['rows', 'values_3d']),
        node('ReduceSum', 'logits_raw', ['weighted', 'axis_k'], { keepdims: 0 }),
        node('Add', 'logits', ['logits_raw', 'bias']),
        node('Softmax', 'probabilities', ['logits'], { axis: -1 }),
      ],
    },
  }).finish();
}
