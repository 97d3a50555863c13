/**
 * Debian's Python Kafka clients (python3-confluent-kafka with python3-avro and python3-requests),
 * which the third-party client tests and the README's Python examples use; installed on first use.
 */
import { spawnSync } from 'node:child_process';
import { aptInstall } from './apt.ts';

/** Debian's interpreter: the one that sees Debian's packages (a pyenv or venv python3 on PATH does not). */
export const DEBIAN_PYTHON = '/usr/bin/python3';
const PACKAGES = ['python3-confluent-kafka', 'python3-avro', 'python3-requests'];

const importable = () =>
  spawnSync(DEBIAN_PYTHON, ['-c', 'import confluent_kafka.avro, requests'], { stdio: 'ignore' }).status === 0;

/** The path of a python3 that imports confluent_kafka.avro, installing Debian's packages when it does not. */
export async function ensurePythonKafkaClients(logFile?: string): Promise<string> {
  if (importable()) return DEBIAN_PYTHON;
  await aptInstall(PACKAGES, logFile);
  if (!importable())
    throw new Error(`apt-get installed ${PACKAGES.join(', ')} but ${DEBIAN_PYTHON} cannot import them`);
  return DEBIAN_PYTHON;
}
