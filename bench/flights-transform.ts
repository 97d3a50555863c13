/**
 * The benchmark's realistic transform: derive features from a flight (hour, weekday, log distance,
 * a hashed origin), score the whole batch with one ONNX logistic model (built here with the
 * finance models' graph builder; illustrative weights: the cost is measured, not the accuracy),
 * and emit the flight with its features and delay probability.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kafka } from 'kafkajs';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { provisionTopics, registerSchemas } from '../core/provision.ts';
import type { Registry } from '../core/schema-registry.ts';
import { resolveTopic } from '../core/topic-checks.ts';
import { Graph } from '../models/finance/graph.ts';
import type { ProcessorSpec } from '../processors/runtime/index.ts';
import type { SampleFlight } from '../schemas/records/samples.ts';

export type ScoredFlight = SampleFlight & { hour: number; weekday: number; delay_probability: number };

/** A fresh 6-partition topic for the scored flights (schema flights-scored.avsc, registered): returns its name. */
export async function scoredFlightsTopic(kafka: Kafka, registry: Registry, name: string): Promise<string> {
  const topic = resolveTopic(
    { name, partitions: 6, cleanup: { policy: 'delete', retentionMs: 86_400_000 }, schema: 'flights-scored.avsc' },
    path.dirname(fileURLToPath(import.meta.url)),
  );
  await provisionTopics(kafka, [topic]);
  await registerSchemas(registry, [topic]);
  return topic.name;
}

const FEATURES = ['hour', 'weekday', 'log_distance', 'origin_bucket'] as const;

function buildModel(): Uint8Array {
  const g = new Graph('flights-delay-bench');
  const x = g.input('features', FEATURES);
  const z = g.linear(-2.1, [
    [0.06, x.hour],
    [0.03, x.weekday],
    [0.12, x.log_distance],
    [0.01, x.origin_bucket],
  ]);
  g.output('delay_probability', g.sigmoid(z), 'probability of a delay over 15 minutes');
  return g.encode({ docString: 'benchmark model', producerVersion: '1', metadata: {} });
}

/** A stable bucket 0..31 of a string (FNV-1a). */
function bucket(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0) % 32;
}

export async function flightsScoring(
  input: string,
  output: string,
  name: string,
): Promise<ProcessorSpec<SampleFlight, ScoredFlight>> {
  const session = await InferenceSession.create(buildModel(), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  return {
    name,
    input,
    output,
    transform: async (records) => {
      const features = new Float64Array(records.length * FEATURES.length);
      const derived = records.map(({ value }, i) => {
        const at = new Date(value.event_time);
        const row = [at.getUTCHours(), at.getUTCDay(), Math.log1p(Math.max(0, value.distance)), bucket(value.origin)];
        features.set(row, i * FEATURES.length);
        return { hour: row[0]!, weekday: row[1]! };
      });
      const scored = await session.run({
        features: new Tensor('float64', features, [records.length, FEATURES.length]),
      });
      const probability = scored.delay_probability!.data as Float64Array;
      return records.map(({ value }, i) => [{ ...value, ...derived[i]!, delay_probability: probability[i]! }]);
    },
  };
}
