/**
 * The single CLI entry: `npx millrace <command> [options]`. Every module past this file is imported
 * when its command runs, so `help` loads the component specs and nothing else.
 */

interface Command {
  summary: string;
  /** Loaded only after the configuration is known to be valid: some modules read it on import. */
  load(): Promise<{ run(args: string[]): Promise<number | 'running'> }>;
}

/** A number is the exit code; 'running' means the command serves until SIGTERM. */
const commands: Record<string, Command> = {
  start: {
    summary: 'start local services, provision, and serve the platform (embedded default)',
    load: () => import('./commands/start.ts'),
  },
  infra: {
    summary: 'local services: infra up|down [service...] | infra status [--json]; --cluster: the local cluster',
    load: () => import('./commands/infra.ts'),
  },
  provision: {
    summary: 'create topics and DLQs, register schemas, apply SQL migrations (idempotent)',
    load: () => import('./commands/provision.ts'),
  },
  topics: {
    summary: 'list the topic catalogue: name, partitions, cleanup, schema subject, DLQ',
    load: () => import('./commands/topics.ts'),
  },
  produce: {
    summary: 'produce JSON lines from stdin as Avro records: --topic T [--key-field F]',
    load: () => import('./commands/produce.ts'),
  },
  consume: {
    summary: 'print decoded records as JSON lines: --topic T [--group G] [--from-beginning]',
    load: () => import('./commands/consume.ts'),
  },
  status: {
    summary: 'the pipelines as they run: state, processes, lag per partition, rates, errors [--json]',
    load: () => import('./commands/status.ts'),
  },
  'dead-letters': {
    summary: 'dead-letters list|redrive --topic T [--ids P:O,...] [--since/--until/--error-class/--source-partition]',
    load: () => import('./commands/dead-letters.ts'),
  },
  kafka: {
    summary: "Kafka's own tools against the broker: kafka topics|console-consumer|consumer-groups|... [args]",
    load: () => import('./commands/kafka.ts'),
  },
  tenants: {
    summary: 'tenants create <name> | tenants invite <email> (a sign-up invitation) | tenants erase <name> [--yes]',
    load: () => import('./commands/tenants.ts'),
  },
  keys: {
    summary: 'keys create --tenant T --role R: print a new API key | keys revoke --tenant T <id>',
    load: () => import('./commands/keys.ts'),
  },
  users: {
    summary: 'users create --tenant T --email E --role R < password',
    load: () => import('./commands/users.ts'),
  },
  'sql-users': {
    summary: 'read-only ClickHouse users for analysts: sql-users create --tenant T | list | drop --tenant T | refresh',
    load: () => import('./commands/sql-users.ts'),
  },
  processor: {
    summary: 'run a processor exactly-once: processor passthrough --input T --output U',
    load: () => import('./commands/processor.ts'),
  },
  sink: {
    summary: 'run a sink exactly-once: sink <name> [--topic T] [--table X] [--as NAME]',
    load: () => import('./commands/sink.ts'),
  },
  replay: {
    summary: 'replay --topic T --from <offset|time> --sink NAME | --processor NAME: re-run a slice of the log',
    load: () => import('./commands/replay.ts'),
  },
  train: {
    summary:
      'train text-classifier --data FILE --text COL --label COL --out DIR | train tabular --data FILE --target COL --task T --features COL:KIND,...: train and export to ONNX',
    load: () => import('./commands/train.ts'),
  },
  trainer: {
    summary: 'run a training worker (models.training.requests): trainer [--group G]; start any number',
    load: () => import('./commands/trainer.ts'),
  },
  source: {
    summary: 'run a source connector: source market-retriever | fixture-site',
    load: () => import('./commands/source.ts'),
  },
  models: {
    summary: 'model registry: models register <dir> | models activate <id> <version> | models list [<id>]',
    load: () => import('./commands/models.ts'),
  },
  api: {
    summary: 'serve the HTTP API on API_HOST:API_PORT (default 127.0.0.1:8080)',
    load: () => import('./commands/api.ts'),
  },
  prometheus: {
    summary:
      'run Prometheus (Debian package) on the API and the roles millrace start runs, with the alert rules: prometheus [--port 9090]',
    load: () => import('./commands/prometheus.ts'),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: millrace <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

/**
 * `millrace help`: the commands and the components; `millrace help <component>` its spec;
 * `millrace help <command>` its summary (and, for processor, sink and source, their components).
 * Needs no valid configuration: the specs are data.
 */
async function help(topic: string | undefined): Promise<number> {
  const { components, componentByName, UnknownComponentError } = await import('./components/registry.ts');
  const { renderComponentHelp, renderComponentList } = await import('./components/help.ts');
  if (topic === undefined) {
    process.stdout.write(`${usage()}\n${renderComponentList(components)}`);
    return 0;
  }
  const command = commands[topic];
  if (command) {
    const kind = ({ processor: 'processor', sink: 'sink', source: 'source' } as const)[
      topic as 'processor' | 'sink' | 'source'
    ];
    const own = kind ? components.filter((c) => c.kind === kind).map((c) => c.name) : [];
    const listed = own.length > 0 ? `${kind}s (npx millrace help <${kind}>): ${own.join(', ')}\n` : '';
    process.stdout.write(`millrace ${topic}: ${command.summary}\n${listed}`);
    return 0;
  }
  try {
    process.stdout.write(renderComponentHelp(componentByName(topic)));
    return 0;
  } catch (error) {
    if (!(error instanceof UnknownComponentError)) throw error;
    process.stderr.write(`millrace help: ${error.message}\n(commands: ${Object.keys(commands).join(', ')})\n`);
    return 2;
  }
}

async function main(argv: string[]): Promise<void> {
  const [name, ...args] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.exitCode = await help(name === 'help' ? args[0] : undefined);
    return;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`millrace: unknown command "${name}"\n\n${usage()}`);
    process.exitCode = 2;
    return;
  }
  const { ConfigError, loadConfig } = await import('../core/config.ts');
  try {
    loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`millrace: ${error.message}\n`);
    process.exitCode = 78; // EX_CONFIG
    return;
  }
  try {
    const outcome = await (await command.load()).run(args);
    // a finished command exits now rather than waiting on idle keep-alive sockets
    if (outcome !== 'running') process.exit(outcome);
  } catch (error) {
    const { createLogger } = await import('../core/logger.ts');
    createLogger('cli').error({ command: name, err: error }, 'command failed');
    process.stderr.write(`millrace ${name}: ${(error as Error).message}\n`);
    process.exit(1);
  }
}

await main(process.argv.slice(2));
