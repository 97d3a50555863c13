/**
 * The dead-letter wrapper any consumer composes: records it cannot use are logged one by one and
 * sent to `<topic>.dlq` (headers: core/dlq.ts) in broker-sized parts, through a plain producer or
 * through the open transaction of a processor, so they commit with its outputs and offsets.
 */
import type { Message, ProducerRecord } from 'kafkajs';
import { toDlqMessage, type DeadLetter } from './dlq.ts';
import type { Logger } from './logger.ts';
import { chunkMessages } from './message-chunks.ts';
import { dlqTopicOf } from '../schemas/topic-spec.ts';

/** What can send records: a producer, or a transaction of one. */
export interface Sender {
  send(record: ProducerRecord): Promise<unknown>;
}

/** Sends `messages` to `topic` in parts the broker accepts (acks from every in-sync replica). */
export async function sendChunked(sender: Sender, topic: string, messages: readonly Message[]): Promise<void> {
  for (const chunk of chunkMessages(messages)) await sender.send({ topic, messages: chunk, acks: -1 });
}

/** The DLQ messages of `dead`, each logged with its origin and reason. */
export function deadLetterMessages(dead: readonly DeadLetter[], stage: string, log: Logger): Message[] {
  return dead.map(({ source, error }) => {
    log.warn(
      {
        topic: source.topic,
        partition: source.partition,
        offset: source.message.offset,
        errorClass: error.name,
        reason: error.message,
      },
      'record to DLQ',
    );
    return toDlqMessage(source, error, stage);
  });
}

/**
 * Sends every dead letter to the DLQ of the topic it came from, in order.
 *
 * @example
 * ```ts
 * await sendDeadLetters(producer, decoded.dead, 'sink.flights', log); // or a processor's transaction
 * ```
 */
export async function sendDeadLetters(
  sender: Sender,
  dead: readonly DeadLetter[],
  stage: string,
  log: Logger,
): Promise<void> {
  const byTopic = new Map<string, DeadLetter[]>();
  for (const letter of dead) {
    const letters = byTopic.get(letter.source.topic) ?? [];
    if (letters.length === 0) byTopic.set(letter.source.topic, letters);
    letters.push(letter);
  }
  for (const [topic, letters] of byTopic)
    await sendChunked(sender, dlqTopicOf(topic), deadLetterMessages(letters, stage, log));
}
