// reads a topic (uncommitted too if asked), prints ids seen more than once with their lineage headers
process.env.MILLRACE_CLUSTER_HOST = '10.213.0.1';
const { clusterEnvironment } = await import('./infra/cluster-layout.ts');
Object.assign(process.env, clusterEnvironment());
const { createKafka } = await import('./core/kafka.ts');
const { Registry } = await import('./core/schema-registry.ts');
const kafka = createKafka('dups');
const registry = new Registry();
const [prefix, topic, mode] = process.argv.slice(2) as [string, string, string];
const consumer = kafka.consumer({ groupId: `dups-${Date.now()}`, readUncommitted: mode === 'uncommitted' });
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
const seen = new Map<string, string[]>();
let last = Date.now();
await consumer.run({
  eachMessage: async ({ partition, message }) => {
    last = Date.now();
    const { id } = (await registry.decode<{ id: string }>(message.value!)).value;
    if (!id.startsWith(prefix)) return;
    const h = message.headers ?? {};
    const src = `${h['millrace.source.partition']}/${h['millrace.source.offset']}`;
    seen.set(id, [...(seen.get(id) ?? []), `p${partition}@${message.offset} src ${src} ts ${message.timestamp}`]);
  },
});
while (Date.now() - last < 8000) await new Promise((r) => setTimeout(r, 500));
await consumer.disconnect();
const dups = [...seen.entries()].filter(([, v]) => v.length > 1);
process.stdout.write(`distinct ${seen.size}, duplicated ${dups.length}\n`);
for (const [id, v] of dups.slice(0, 25)) process.stdout.write(`${id}: ${v.join(' | ')}\n`);
process.exit(0);
