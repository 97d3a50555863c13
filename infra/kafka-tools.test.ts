/** Unit tests of infra/kafka-tools.ts: where the broker goes in a tool's arguments, and the command line. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../core/config.ts';
import { kafkaToolCommand, withBootstrap } from './kafka-tools.ts';

const brokers = ['127.0.0.1:9092', '127.0.0.1:9094'];

describe('Kafka tools', () => {
  it('puts the configured brokers in front of the arguments, before any subcommand', () => {
    assert.deepEqual(withBootstrap(['list'], brokers), ['--bootstrap-server', '127.0.0.1:9092,127.0.0.1:9094', 'list']);
    assert.deepEqual(withBootstrap([], brokers), ['--bootstrap-server', '127.0.0.1:9092,127.0.0.1:9094']);
  });

  it('leaves arguments that name a broker, or only ask for help or the version, as they are', () => {
    for (const args of [
      ['--list', '--bootstrap-server', 'kafka:29092'],
      ['--bootstrap-server=kafka:29092', '--list'],
      ['--help'],
      ['--version'],
    ]) {
      assert.deepEqual(withBootstrap(args, brokers), args);
    }
  });

  it("runs the tool's main class on Kafka's jars, and refuses a tool it does not know, naming the known", () => {
    const { cmd, args } = kafkaToolCommand('console-consumer', ['--topic', 't']);
    assert.equal(cmd, 'java');
    assert.match(args[args.indexOf('-cp') + 1] ?? '', /kafka-[\d.]+\/\*$/);
    assert.deepEqual(args.slice(-5), [
      'org.apache.kafka.tools.consumer.ConsoleConsumer',
      '--bootstrap-server',
      loadConfig().KAFKA_BROKERS.join(','),
      '--topic',
      't',
    ]);
    assert.throws(() => kafkaToolCommand('toString', []), /unknown Kafka tool "toString"; known: topics, /);
  });
});
