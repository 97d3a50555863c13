/**
 * A small builder for the finance models' ONNX graphs, written with onnx-proto: one [N, 12] double
 * input split into named [N, 1] columns, element-wise arithmetic on them, and [N] outputs.
 * A number operand becomes a scalar double initializer that ONNX broadcasts, so a model reads
 * close to its formula in the paper.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type NodeProto = onnxProto.onnx.INodeProto;
type TensorProto = onnxProto.onnx.ITensorProto;
type ValueInfoProto = onnxProto.onnx.IValueInfoProto;

const INT_ATTRIBUTE = onnx.AttributeProto.AttributeType.INT;

export const DataType = {
  FLOAT: onnx.TensorProto.DataType.FLOAT,
  DOUBLE: onnx.TensorProto.DataType.DOUBLE,
} as const;

/** IR 8 is the newest onnx-proto knows; opset 17 has every op used here, and Split without sizes. */
export const IR_VERSION = 8;
export const OPSET = 17;

/** A value in the graph (its name) or a constant. */
type Operand = string | number;

function tensorInfo(name: string, elemType: number, dims: (string | number)[]): ValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

export class Graph {
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly constants = new Map<number, string>();
  private readonly outputs: ValueInfoProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];

  constructor(private readonly name: string) {}

  /** Declares the [N, columns.length] double input and returns each column as an [N, 1] value. */
  input<C extends string>(name: string, columns: readonly C[]): Record<C, string> {
    this.inputs.push(tensorInfo(name, DataType.DOUBLE, ['N', columns.length]));
    this.nodes.push({
      name: `split_${name}`,
      opType: 'Split',
      input: [name],
      output: [...columns],
      attribute: [{ name: 'axis', type: INT_ATTRIBUTE, i: 1 }],
    });
    const named = {} as Record<C, string>;
    for (const c of columns) named[c] = c;
    return named;
  }

  /** Publishes an [N, 1] double value as the [N] graph output `name`. */
  output(name: string, value: string, docString: string): void {
    const shape = `${name}_shape`;
    this.initializers.push({ name: shape, dataType: onnx.TensorProto.DataType.INT64, dims: [1], int64Data: [-1] });
    this.nodes.push({ name, opType: 'Reshape', input: [value, shape], output: [name] });
    this.outputs.push({ ...tensorInfo(name, DataType.DOUBLE, ['N']), docString });
  }

  op(opType: string, inputs: Operand[], attribute: NodeProto['attribute'] = []): string {
    const output = `${opType.toLowerCase()}_${this.nodes.length}`;
    this.nodes.push({ name: output, opType, input: inputs.map((x) => this.ref(x)), output: [output], attribute });
    return output;
  }

  add = (a: Operand, b: Operand) => this.op('Add', [a, b]);
  sub = (a: Operand, b: Operand) => this.op('Sub', [a, b]);
  mul = (a: Operand, b: Operand) => this.op('Mul', [a, b]);
  div = (a: Operand, b: Operand) => this.op('Div', [a, b]);
  abs = (a: Operand) => this.op('Abs', [a]);
  log = (a: Operand) => this.op('Log', [a]);
  sigmoid = (a: Operand) => this.op('Sigmoid', [a]);
  greater = (a: Operand, b: Operand) => this.op('Greater', [a, b]);
  less = (a: Operand, b: Operand) => this.op('Less', [a, b]);
  equal = (a: Operand, b: Operand) => this.op('Equal', [a, b]);
  and = (a: Operand, b: Operand) => this.op('And', [a, b]);
  where = (condition: Operand, then: Operand, otherwise: Operand) => this.op('Where', [condition, then, otherwise]);
  cast = (a: Operand, to: number) => this.op('Cast', [a], [{ name: 'to', type: INT_ATTRIBUTE, i: to }]);

  /** A boolean value as 1 or 0 (double). */
  indicator = (condition: Operand) => this.cast(condition, DataType.DOUBLE);

  /** intercept + sum of coefficient * term, as one Sum node. */
  linear(intercept: number, terms: [number, Operand][]): string {
    return this.op('Sum', [intercept, ...terms.map(([coefficient, term]) => this.mul(coefficient, term))]);
  }

  /** The serialised model: deterministic for a given graph (no timestamps, stable names). */
  encode(meta: { docString: string; producerVersion: string; metadata: Record<string, string> }): Uint8Array {
    return onnx.ModelProto.encode({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: 'millrace models/finance/build.ts',
      producerVersion: meta.producerVersion,
      docString: meta.docString,
      metadataProps: Object.entries(meta.metadata).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    }).finish();
  }

  private ref(x: Operand): string {
    if (typeof x === 'string') return x;
    let name = this.constants.get(x);
    if (name === undefined) {
      name = `const_${this.constants.size}`;
      this.constants.set(x, name);
      this.initializers.push({ name, dataType: DataType.DOUBLE, dims: [], doubleData: [x] });
    }
    return name;
  }
}
