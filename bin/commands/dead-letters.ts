/**
 * `millrace dead-letters list --topic T [filters] [--limit N] [--cursor C]`: prints the topic's dead
 * letters as JSON lines (every header, error, origin, payload decoded or hex, redrive), then the
 * next cursor on stderr. `millrace dead-letters redrive --topic T (--ids P:O[,P:O...] | filters)`:
 * sends them back to their source topic, each at most once, and prints what was sent and skipped.
 * Filters: --since/--until (ISO time or epoch ms), --error-class, --source-partition. Operator-wide:
 * this runs on the platform's machine.
 */
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { topicByName } from '../../core/catalogue.ts';
import { listDeadLetters, type DeadLetterFilter } from '../../core/dlq-browse.ts';
import { readRedrives, redriveDeadLetters } from '../../core/dlq-redrive.ts';
import { createKafka } from '../../core/kafka.ts';
import { Registry } from '../../core/schema-registry.ts';
import { flags, positiveOption } from './options.ts';

const USAGE =
  'usage: millrace dead-letters list --topic T [--since TIME] [--until TIME] [--error-class C] [--source-partition P] [--limit N] [--cursor C]\n' +
  '       millrace dead-letters redrive --topic T (--ids P:O[,P:O...] | [--since TIME] [--until TIME] [--error-class C] [--source-partition P]) [--tenant T]';

function time(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (Number.isNaN(ms)) throw new Error(`--${flag} must be an ISO 8601 time or epoch ms, got "${raw}"`);
  return ms;
}

function partition(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--source-partition must be a partition number, got "${raw}"`);
  return n;
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: flags(
      'string',
      'topic',
      'since',
      'until',
      'error-class',
      'source-partition',
      'limit',
      'cursor',
      'ids',
      'tenant',
    ),
  });
  const [action] = positionals;
  if (!values.topic || (action !== 'list' && action !== 'redrive')) throw new Error(USAGE);
  const topic = topicByName(values.topic).name; // an unknown topic fails here, naming the known ones
  const filter: DeadLetterFilter = {
    since: time('since', values.since),
    until: time('until', values.until),
    errorClass: values['error-class'],
    sourcePartition: partition(values['source-partition']),
  };
  const kafka = createKafka('millrace-dead-letters');
  const registry = new Registry();
  if (action === 'list') {
    const page = await listDeadLetters({
      kafka,
      registry,
      topic,
      viewer: { operator: true },
      filter,
      cursor: values.cursor,
      limit: positiveOption('limit', values.limit) ?? 100,
      redrives: await readRedrives(kafka, registry),
    });
    for (const letter of page.dead_letters) process.stdout.write(`${JSON.stringify(letter)}\n`);
    process.stderr.write(
      `${page.dead_letters.length} dead letters (${page.scanned} scanned)${page.next_cursor ? `; more: --cursor ${page.next_cursor}` : ''}\n`,
    );
    return 0;
  }
  const result = await redriveDeadLetters({
    kafka,
    registry,
    topic,
    viewer: { operator: true },
    actor: { subject: `cli:${userInfo().username}`, tenantId: values.tenant ?? 'operators' },
    selection: values.ids ? { ids: values.ids.split(',') } : { filter },
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.stderr.write(
    `${result.redriven.length} redriven, ${result.skipped.length} skipped${result.more ? '; more match: run again' : ''}\n`,
  );
  return 0;
}
