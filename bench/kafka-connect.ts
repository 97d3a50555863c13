/**
 * The Kafka Connect peer of the Postgres sink (bench/flights.ts): a standalone Connect worker (no
 * internal topics, nothing set on the shared broker) running Debezium's JDBC sink connector into a
 * Postgres database of its own, reading the same Avro topic through Apicurio's AvroConverter (Confluent
 * wire format, schemas from the registry's v2 API). Jars come from Maven Central through
 * bench/kafka-connect/pom.xml into $MILLRACE_HOME/bench-lib/kafka-connect; none are in the product.
 * Any step that cannot run rejects with the reason, so the caller can print it and go on.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { Kafka } from 'kafkajs';
import pg from 'pg';
import { loadConfig } from '../core/config.ts';
import { eventually } from '../testkit/helpers.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const sh = promisify(execFile);
/** What ran, for the report: the pom's versions. */
export const connectVersions =
  'connect-runtime 3.9.1 (standalone), debezium-connector-jdbc 3.5.0.Final, postgresql 42.7.7, apicurio-registry-utils-converter 2.6.13.Final';

/** The jars' directory, fetched once per version of the pom with mvn (a marker file says the copy finished). */
export async function connectJars(): Promise<string> {
  const pom = createHash('sha256')
    .update(readFileSync(path.join(here, 'kafka-connect', 'pom.xml')))
    .digest('hex')
    .slice(0, 12);
  const lib = path.join(loadConfig().MILLRACE_HOME, 'bench-lib', `kafka-connect-${pom}`);
  const done = path.join(lib, '.complete');
  if (existsSync(done)) return lib;
  rmSync(lib, { recursive: true, force: true });
  mkdirSync(lib, { recursive: true });
  await sh('mvn', ['-q', '-B', 'dependency:copy-dependencies', `-DoutputDirectory=${lib}`], {
    cwd: path.join(here, 'kafka-connect'),
    maxBuffer: 16 << 20,
  }).catch((error: Error & { stdout?: string }) => {
    const reason = /\[ERROR\] (.*)/.exec(error.stdout ?? '')?.[1] ?? error.message;
    throw new Error(`mvn could not fetch the Kafka Connect jars: ${reason.slice(0, 400)}`);
  });
  writeFileSync(done, new Date().toISOString());
  return lib;
}

export interface ConnectRun {
  /** from the worker's start until the table holds `count` rows */
  seconds: number;
  /** from the worker's start until the first row was in the table (JVM start, plugin scan, group join) */
  firstRowSeconds: number;
  /** rows in the table when it was first seen non-empty */
  firstRows: number;
  /** sum(delay) over the table, to compare with what was produced */
  delay: number;
  settings: string;
}

/**
 * Runs the worker with the JDBC sink on `topic` until a table of its own in a database of its own
 * holds `count` rows (upserts on (tenant_id, id)), then stops it and drops the database and its
 * consumer group.
 */
export async function kafkaConnectJdbcSink(
  kafka: Kafka,
  topic: string,
  count: number,
  run: string,
): Promise<ConnectRun> {
  const lib = await connectJars();
  const config = loadConfig();
  const url = new URL(config.POSTGRES_URL);
  const database = `bench_peers_connect_${run}`;
  const table = 'flights';
  const name = `bench-peers-jdbc-${run}`;
  const admin = new pg.Client({ connectionString: config.POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const dir = mkdtempSync(path.join(tmpdir(), 'millrace-connect-'));
  url.pathname = `/${database}`;
  const db = new pg.Client({ connectionString: url.toString() });
  let worker: ReturnType<typeof spawn> | undefined;
  try {
    await db.connect();
    // the columns of samples_flights without the Millrace sink's lineage ones, the same primary key
    await db.query(`CREATE TABLE ${table} (
      id text NOT NULL, tenant_id text NOT NULL, event_time timestamptz NOT NULL, origin text NOT NULL,
      destination text NOT NULL, distance integer NOT NULL, delay smallint NOT NULL, PRIMARY KEY (tenant_id, id))`);
    const registry = new URL(config.SCHEMA_REGISTRY_URL);
    const connector = {
      name,
      'connector.class': 'io.debezium.connector.jdbc.JdbcSinkConnector',
      'tasks.max': '1',
      topics: topic,
      'connection.url': `jdbc:postgresql://${url.hostname}:${url.port || 5432}/${database}`,
      'connection.username': decodeURIComponent(url.username || 'postgres'),
      'connection.password': decodeURIComponent(url.password),
      // its strongest guarantee: at-least-once delivery made idempotent by upserts on the primary key
      'insert.mode': 'upsert',
      'primary.key.mode': 'record_value',
      'primary.key.fields': 'tenant_id,id',
      'delete.enabled': 'false',
      'schema.evolution': 'none',
      'table.name.format': table,
      'batch.size': '10000',
      'use.time.zone': 'UTC',
      'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
      'value.converter': 'io.apicurio.registry.utils.converter.AvroConverter',
      'value.converter.apicurio.registry.url': `${registry.origin}/apis/registry/v2`,
      // Millrace's wire format: magic byte and a 4-byte id, the content id the ccompat API hands out
      'value.converter.apicurio.registry.as-confluent': 'true',
      'value.converter.apicurio.registry.use-id': 'contentId',
      'value.converter.apicurio.registry.headers.enabled': 'false',
      'consumer.override.max.poll.records': '10000',
    };
    const workerConfig = {
      'bootstrap.servers': config.KAFKA_BROKERS.join(','),
      'offset.storage.file.filename': path.join(dir, 'offsets'),
      'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
      'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
      listeners: 'http://127.0.0.1:0',
      'connector.client.config.override.policy': 'All',
      // plugins found through their ServiceLoader manifests, not a reflective scan of every jar (minutes on
      // a busy machine); the converters are loaded by class name from the classpath all the same
      'plugin.discovery': 'service_load',
      'consumer.auto.offset.reset': 'earliest',
    };
    const props = (o: Record<string, string>) =>
      Object.entries(o)
        .map(([k, v]) => `${k}=${v.replace(/\\/g, '\\\\')}`)
        .join('\n');
    writeFileSync(path.join(dir, 'worker.properties'), props(workerConfig));
    writeFileSync(path.join(dir, 'connector.properties'), props(connector));
    writeFileSync(
      path.join(dir, 'log4j.properties'),
      'log4j.rootLogger=WARN, stderr\nlog4j.appender.stderr=org.apache.log4j.ConsoleAppender\n' +
        'log4j.appender.stderr.Target=System.err\nlog4j.appender.stderr.layout=org.apache.log4j.PatternLayout\n' +
        'log4j.appender.stderr.layout.ConversionPattern=%d %p %c{1} %m%n\n',
    );
    const log: string[] = [];
    const started = performance.now();
    worker = spawn(
      'java',
      [
        '-Xmx1g',
        `-Dlog4j.configuration=file:${path.join(dir, 'log4j.properties')}`,
        '-cp',
        `${lib}/*`,
        'org.apache.kafka.connect.cli.ConnectStandalone',
        path.join(dir, 'worker.properties'),
        path.join(dir, 'connector.properties'),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    worker.stderr!.on('data', (d: Buffer) => log.push(String(d)));
    const exited = new Promise<never>((_, reject) => {
      // no java on the PATH comes as an 'error' event, not an exit
      worker!.once('error', (error) => reject(new Error(`could not start java: ${error.message}`)));
      worker!.once('exit', (code) =>
        reject(new Error(`the Connect worker exited (${code}): ${log.join('').slice(-1500)}`)),
      );
    });
    const rows = async () => Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);
    let firstRowSeconds = 0;
    let firstRows = 0;
    const failed = () => /ERROR .*(Task threw|is being killed)/.exec(log.join(''));
    await Promise.race([
      exited,
      eventually(
        'the Kafka Connect JDBC sink to write every row',
        async () => {
          if (failed()) throw new Error(`the JDBC sink task failed: ${log.join('').slice(-2000)}`);
          const n = await rows();
          if (n > 0 && firstRowSeconds === 0) [firstRowSeconds, firstRows] = [(performance.now() - started) / 1000, n];
          return n >= count ? true : undefined;
        },
        // an hour: at the 2-5k rows/s measured on this machine the 3M flights take 10-25 minutes
        3_600_000,
      ),
    ]);
    const seconds = (performance.now() - started) / 1000;
    const delay = Number((await db.query<{ d: string }>(`SELECT sum(delay) AS d FROM ${table}`)).rows[0]!.d);
    return {
      seconds,
      firstRowSeconds,
      firstRows,
      delay,
      settings: `insert.mode=upsert, primary.key.mode=record_value (tenant_id,id), batch.size=10000, max.poll.records=10000, tasks.max=1`,
    };
  } finally {
    if (worker && worker.exitCode === null) {
      const gone = new Promise((r) => worker!.once('exit', r));
      worker.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 15_000))]);
      if (worker.exitCode === null) worker.kill('SIGKILL');
    }
    await db.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
    const groups = kafka.admin();
    await groups.connect();
    await groups.deleteGroups([`connect-${name}`]).catch(() => undefined);
    await groups.disconnect();
  }
}
