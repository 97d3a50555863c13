/**
 * `npm test`: starts the real services through infra/ (installing them on a fresh machine),
 * provisions the catalogue, runs every test file with node's test runner, then stops the services
 * this run started. Pass file paths to run only those.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCatalogue } from '../core/catalogue.ts';
import { provisionAll } from '../core/provision.ts';
import { infraDown, infraStatus, infraUp, type ServiceName } from '../infra/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);
/** The folders whose unit tests sit next to their code (`foo.ts` + `foo.test.ts`). */
const codeFolders = [
  'schemas',
  'core',
  'infra',
  'models',
  'domain',
  'processors',
  'connectors',
  'api',
  'bin',
  'console',
];
/** Integration and end-to-end tests, which span components and talk to the real services. */
const suites = ['integration', 'e2e'];

const testsUnder = (dir: string): string[] => {
  try {
    return readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.test.ts'))
      .sort()
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
};

/** Unit tests (they need no service), then the integration and end-to-end suites. */
function testFiles(): { unit: string[]; suites: string[] } {
  return {
    unit: codeFolders.map((f) => path.join(root, f)).flatMap(testsUnder),
    suites: suites.map((s) => path.join(here, s)).flatMap(testsUnder),
  };
}

/** Requested files sorted into the two runs: a file under test/ belongs to a suite. */
function classify(files: string[]): { unit: string[]; suites: string[] } {
  const inSuite = (f: string) => f.startsWith(here + path.sep);
  return { unit: files.filter((f) => !inSuite(f)), suites: files.filter(inSuite) };
}

interface Outcome {
  code: number;
  passed: number;
  failed: number;
}

/**
 * Runs the files with node's test runner, `concurrency` files at a time: spec to the terminal, TAP
 * to a file for the counts.
 */
function runTests(files: string[], concurrency: number): Promise<Outcome> {
  if (files.length === 0) return Promise.resolve({ code: 0, passed: 0, failed: 0 });
  const tap = path.join(mkdtempSync(path.join(tmpdir(), 'millrace-test-')), 'results.tap');
  const args = ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`];
  args.push(
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tap}`,
  );
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...args, ...files], { stdio: 'inherit' });
    child.on('exit', (code) => {
      const summary = readFileSync(tap, 'utf8');
      const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(summary)?.[1] ?? 0);
      resolve({ code: code ?? 1, passed: count('pass'), failed: count('fail') + count('cancelled') });
    });
  });
}

async function main(): Promise<number> {
  const requested = process.argv.slice(2).map((f) => path.resolve(f));
  const files = requested.length > 0 ? classify(requested) : testFiles();
  // unit files need no service: they run (two at a time, each is mostly start-up) while the
  // services install and start
  const unit = runTests(files.unit, 2);
  let suite: Outcome = { code: 0, passed: 0, failed: 0 };
  if (files.suites.length > 0) {
    const before = await infraStatus();
    const alreadyUp = new Set(before.filter((s) => s.health === 'up').map((s) => s.service));
    const { started } = await infraUp();
    const stopAfter: ServiceName[] = started.filter((s) => !alreadyUp.has(s));
    try {
      await provisionAll(loadCatalogue());
      await unit; // the suites one at a time, alone: they share one broker and time their faults
      suite = await runTests(files.suites, 1);
    } finally {
      if (stopAfter.length > 0) await infraDown(stopAfter);
    }
  }
  const { passed, failed, code } = await unit;
  const outcome = { code: code || suite.code, passed: passed + suite.passed, failed: failed + suite.failed };
  // the closing line, after the services' shutdown logs
  process.stdout.write(`\ntests: ${outcome.passed} passed, ${outcome.failed} failed\n`);
  return outcome.code;
}

process.exit(await main());
