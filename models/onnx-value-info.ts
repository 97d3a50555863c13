/** ONNX graph inputs and outputs as onnx-proto messages: a named tensor of an element type and shape. */

/**
 * A tensor's value info; a string dimension is symbolic (a batch of `N` rows), a number fixed.
 *
 * @example
 * input: [tensorInfo('features', onnx.TensorProto.DataType.FLOAT, ['N', 12])]
 */
export const tensorInfo = (name: string, elemType: number, dims: (string | number)[]) => ({
  name,
  type: {
    tensorType: {
      elemType,
      shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
    },
  },
});
