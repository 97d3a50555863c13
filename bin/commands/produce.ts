/**
 * `millrace produce --topic T < records.jsonl`: one JSON object per line, validated and encoded
 * against the topic's registered schema. Bad lines are reported by line number with the field at
 * fault and skipped; the good ones are sent. Exit 1 if any line was refused. T is a catalogue topic,
 * or any topic whose value subject the registry has (a user's or a test's own topic).
 *
 * Built for millions of lines: stdin is split in chunks, not line by line through readline; the
 * compiled Avro type is reused with no promise per record; records go in large produce requests,
 * the next one filled while the previous ones are in flight. On a terminal a progress line shows
 * records, rate and refusals; a summary line always ends the run.
 */
import { parseArgs } from 'node:util';
import type { Message } from 'kafkajs';
import { catalogueKey, topicByName } from '../../core/catalogue.ts';
import { createKafka } from '../../core/kafka.ts';
import { AvroProducer } from '../../core/producer.ts';
import { Registry, RecordInvalidError } from '../../core/schema-registry.ts';
import { CatalogueError } from '../../core/topic-checks.ts';
import { valueSubjectOf } from '../../schemas/topic-spec.ts';
import { flags } from './options.ts';

/**
 * A produce request is sent at whichever comes first (the broker's default record batch limit is
 * 1 MB). Not more records: kafkajs groups a send's messages by partition in time and garbage
 * quadratic in their number per partition (groupMessagesPerPartition copies the array per message);
 * on a one-partition topic 2,000-record sends ran at half the rate of 1,000-record ones.
 */
export const REQUEST_RECORDS = 1_000;
const REQUEST_BYTES = 512 * 1024;
/** Requests sent and not yet acknowledged before reading waits: enough to keep the broker busy. */
export const IN_FLIGHT = 4;

/** The catalogue's topic of that name, else a topic the registry has a value schema for. */
async function resolveTopic(name: string, registry: Registry): Promise<string> {
  try {
    return topicByName(name).name;
  } catch (error) {
    if (!(error instanceof CatalogueError)) throw error;
    if ((await registry.versions(valueSubjectOf(name))).length > 0) return name;
    throw new CatalogueError(`${error.message}; nor has the registry a subject ${valueSubjectOf(name)}`);
  }
}

/** The line on a terminal that says how far the run is; nothing when stderr is not one. */
class Progress {
  private readonly started = performance.now();
  private shown = 0;
  private readonly tty = process.stderr.isTTY;

  rate(records: number): number {
    return Math.round(records / Math.max((performance.now() - this.started) / 1000, 1e-3));
  }

  elapsedSeconds(): string {
    return ((performance.now() - this.started) / 1000).toFixed(1);
  }

  update(records: number, refused: number): void {
    if (!this.tty || performance.now() - this.shown < 500) return;
    this.shown = performance.now();
    process.stderr.write(
      `\r\x1b[K${records.toLocaleString('en')} records, ${this.rate(records).toLocaleString('en')}/s, ${refused} refused`,
    );
  }

  /** Writes a line of its own, clearing the progress line first. */
  say(text: string): void {
    process.stderr.write(this.tty ? `\r\x1b[K${text}\n` : `${text}\n`);
  }
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: flags('string', 'topic', 'key-field') });
  if (!values.topic) throw new Error('--topic is required');
  const registry = new Registry();
  const topic = await resolveTopic(values.topic, registry);
  const keyField = values['key-field'];
  const encode = await registry.encoder(valueSubjectOf(topic));
  const producer = new AvroProducer(createKafka('millrace-produce'), registry);
  await producer.connect();

  const progress = new Progress();
  let sent = 0;
  let accepted = 0;
  let refused = 0;
  let lineNo = 0;
  let request: Message[] = [];
  let requestBytes = 0;
  const inFlight: Promise<void>[] = [];

  const flush = async () => {
    const messages = request;
    request = [];
    requestBytes = 0;
    const sending = producer.sendPrepared(topic, messages).then(() => {
      sent += messages.length;
    });
    sending.catch(() => {}); // awaited below, in order; this only keeps a failure from being "unhandled" meanwhile
    inFlight.push(sending);
    if (inFlight.length >= IN_FLIGHT) await inFlight.shift();
  };

  const take = (line: string) => {
    lineNo += 1;
    if (line.trim() === '') return;
    try {
      const value = JSON.parse(line) as { id: string } & Record<string, unknown>;
      const bytes = encode(value);
      const key = keyField === undefined ? catalogueKey(topic, value) : String(value[keyField]);
      request.push({ key, value: bytes });
      requestBytes += bytes.length + key.length;
      accepted += 1;
    } catch (error) {
      if (!(error instanceof SyntaxError || error instanceof RecordInvalidError)) throw error;
      refused += 1;
      progress.say(`line ${lineNo}: ${error.message}`);
    }
  };

  try {
    let rest = '';
    process.stdin.setEncoding('utf8'); // decodes characters split across chunks
    for await (const chunk of process.stdin as AsyncIterable<string>) {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        take(line);
        if (request.length >= REQUEST_RECORDS || requestBytes >= REQUEST_BYTES) await flush();
      }
      progress.update(accepted, refused);
    }
    if (rest !== '') take(rest);
    if (request.length > 0) await flush();
    while (inFlight.length > 0) await inFlight.shift();
  } finally {
    await producer.disconnect();
  }
  progress.say(
    `${sent} record(s) sent to ${topic}, ${refused} refused (${progress.elapsedSeconds()} s, ${progress.rate(sent).toLocaleString('en')} records/s)`,
  );
  return refused > 0 ? 1 : 0;
}
