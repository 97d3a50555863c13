/**
 * Checks an ONNX graph against what its manifest declares before it is registered: the graph
 * loads in ONNX Runtime, and its inputs and outputs are exactly the ones the manifest names, of the
 * declared element types and, where a shape is declared, of its rank and fixed sizes. A manifest
 * declares them beside each file (`models[].inputs` / `.outputs`, as models/finance does) or at its
 * top level when it lists one file (as models/catalog-genre does).
 */
import { InferenceSession } from 'onnxruntime-node';
import { z } from 'zod';

const declaredValue = z.object({
  name: z.string().min(1),
  /** 'tensor(float)', 'float', 'float32', or 'int64 [N, K]': the element type leads */
  type: z.string().optional(),
  shape: z.array(z.union([z.string(), z.number().int()])).optional(),
});
const declaration = z.object({ inputs: z.array(declaredValue).min(1), outputs: z.array(declaredValue).min(1) });
export type GraphDeclaration = z.infer<typeof declaration>;

/** ONNX's element type names (and numpy's) as ONNX Runtime reports them. */
const ELEMENT_TYPES: Record<string, string> = {
  float: 'float32',
  float32: 'float32',
  double: 'float64',
  float64: 'float64',
  float16: 'float16',
  int8: 'int8',
  int16: 'int16',
  int32: 'int32',
  int64: 'int64',
  uint8: 'uint8',
  uint16: 'uint16',
  uint32: 'uint32',
  uint64: 'uint64',
  bool: 'bool',
  string: 'string',
};

const elementType = (type: string) =>
  ELEMENT_TYPES[/^\s*(?:tensor\(\s*)?([a-z0-9]+)/i.exec(type)?.[1]?.toLowerCase() ?? ''];

/**
 * The declaration of `file` in a manifest, or a reason there is none: per file in `models[]`,
 * else at the top level of a manifest that lists only this file.
 */
export function declarationOf(manifest: Record<string, unknown>, file: string): GraphDeclaration | string {
  const entries = (manifest.models as Record<string, unknown>[]).filter((m) => m.file === file);
  const own = entries.find((m) => m.inputs !== undefined || m.outputs !== undefined);
  const files = new Set((manifest.models as { file: string }[]).map((m) => m.file));
  const source = own ?? (files.size === 1 ? manifest : undefined);
  const where = own ? `models[${(manifest.models as unknown[]).indexOf(own)}]` : 'the manifest';
  if (!source) return `${file}: declare its inputs and outputs in its models[] entry`;
  const parsed = declaration.safeParse(source);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return `${where}: ${issue.path.join('.') || 'inputs and outputs'}: ${issue.message}`;
  }
  return parsed.data;
}

function compare(
  file: string,
  kind: 'input' | 'output',
  actual: readonly InferenceSession.ValueMetadata[],
  declared: GraphDeclaration['inputs'],
): string[] {
  const problems: string[] = [];
  const names = actual.map((a) => a.name);
  for (const d of declared) {
    const value = actual.find((a) => a.name === d.name);
    if (!value) {
      problems.push(`${file}: the manifest's ${kind} "${d.name}" is not one of the graph's (${names.join(', ')})`);
      continue;
    }
    if (d.type !== undefined) {
      const expected = elementType(d.type);
      if (!expected) problems.push(`${file}: ${kind} "${d.name}": "${d.type}" names no ONNX element type`);
      else if (!value.isTensor) problems.push(`${file}: ${kind} "${d.name}" is no tensor in the graph`);
      else if (value.type !== expected)
        problems.push(`${file}: ${kind} "${d.name}" is ${value.type} in the graph, ${expected} in the manifest`);
    }
    if (d.shape !== undefined && value.isTensor && value.shape.length > 0) {
      if (value.shape.length !== d.shape.length)
        problems.push(
          `${file}: ${kind} "${d.name}" has rank ${value.shape.length} in the graph, ${d.shape.length} in the manifest`,
        );
      else
        d.shape.forEach((size, i) => {
          const graphSize = value.shape[i];
          if (typeof size === 'number' && typeof graphSize === 'number' && size !== graphSize)
            problems.push(
              `${file}: ${kind} "${d.name}" dimension ${i} is ${graphSize} in the graph, ${size} in the manifest`,
            );
        });
    }
  }
  for (const name of names)
    if (!declared.some((d) => d.name === name))
      problems.push(`${file}: the graph's ${kind} "${name}" is not in the manifest`);
  return problems;
}

/** What is wrong with `bytes` as the graph `file` that `declared` describes; empty when nothing is. */
export async function graphProblems(file: string, bytes: Uint8Array, declared: GraphDeclaration): Promise<string[]> {
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  } catch (error) {
    return [`${file} does not load in ONNX Runtime: ${(error as Error).message}`];
  }
  try {
    return [
      ...compare(file, 'input', session.inputMetadata, declared.inputs),
      ...compare(file, 'output', session.outputMetadata, declared.outputs),
    ];
  } finally {
    await session.release();
  }
}
