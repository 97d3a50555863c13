/**
 * `npm test`: starts the real services through infra/ (installing them on a fresh machine),
 * provisions the catalogue, runs every test file with node's test runner, then stops the services
 * this run started. Pass file paths to run only those.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCatalogue } from '../core/catalogue.ts';
import { provisionAll } from '../core/provision.ts';
import { infraDown, infraStatus, infraUp, type ServiceName } from '../infra/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const suites = ['unit', 'integration', 'e2e'];

function testFiles(): string[] {
  return suites.flatMap((suite) => {
    const dir = path.join(here, suite);
    try {
      return readdirSync(dir).filter((f) => f.endsWith('.test.ts')).sort().map((f) => path.join(dir, f));
    } catch {
      return [];
    }
  });
}

function runTests(files: string[]): Promise<number> {
  return new Promise((resolve) => {
    // one file at a time: the integration tests share one broker and one machine's two cores
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
      stdio: 'inherit',
    });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<number> {
  const requested = process.argv.slice(2).map((f) => path.resolve(f));
  const files = requested.length > 0 ? requested : testFiles();
  const before = await infraStatus();
  const alreadyUp = new Set(before.filter((s) => s.health === 'up').map((s) => s.service));
  const { started } = await infraUp();
  const stopAfter: ServiceName[] = started.filter((s) => !alreadyUp.has(s));
  try {
    await provisionAll(loadCatalogue());
    return await runTests(files);
  } finally {
    if (stopAfter.length > 0) await infraDown(stopAfter);
  }
}

process.exit(await main());
