/**
 * Batch scoring: JSON lines in, one answer line per non-empty input line out, in order; rows are
 * scored in chunks by a held model version, refused lines answered with the reason.
 */
import type { TabularPredictors } from '../models/tabular/predictor.ts';

const BATCH_ROWS = 1024;

/** Reads JSON lines, scores them in chunks of BATCH_ROWS, and writes one answer line per non-empty input line. */
export async function scoreLines(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
  model: Pick<Awaited<ReturnType<TabularPredictors['hold']>>, 'problem' | 'predict'>,
  write: (lines: string) => Promise<unknown>,
): Promise<void> {
  let pending: { line: number; row: Record<string, unknown> }[] = [];
  let answers: string[] = [];
  const flush = async () => {
    const predictions = pending.length > 0 ? await model.predict(pending.map((p) => p.row)) : [];
    pending.forEach((p, i) => answers.push(JSON.stringify({ line: p.line, ...predictions[i] })));
    if (answers.length > 0) await write(`${answers.join('\n')}\n`);
    pending = [];
    answers = [];
  };
  // answers go out in line order: an error line waits for the rows scored before it
  const refuse = async (line: number, message: string, field?: string) => {
    await flush();
    answers.push(JSON.stringify({ line, error: 'invalid_row', ...(field ? { field } : {}), message }));
  };
  let bytes = 0;
  let number = 0;
  let rest = '';
  const decoder = new TextDecoder();
  const handle = async (text: string) => {
    number++;
    if (!text.trim()) return;
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch {
      return refuse(number, `line ${number} is not JSON`);
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row))
      return refuse(number, `line ${number} is not a JSON object`);
    const problem = model.problem(row as Record<string, unknown>);
    if (problem) return refuse(number, `line ${number}: ${problem.message}`, problem.field);
    pending.push({ line: number, row: row as Record<string, unknown> });
    if (pending.length >= BATCH_ROWS) await flush();
  };
  for await (const chunk of body) {
    bytes += chunk.byteLength;
    if (bytes > maxBytes) {
      await flush();
      await write(
        `${JSON.stringify({ error: 'payload_too_large', message: `the body is larger than ${maxBytes} bytes: lines after ${number} were not read` })}\n`,
      );
      return;
    }
    const lines = (rest + decoder.decode(chunk, { stream: true })).split('\n');
    rest = lines.pop()!;
    for (const line of lines) await handle(line);
  }
  rest += decoder.decode();
  if (rest) await handle(rest);
  await flush();
}
