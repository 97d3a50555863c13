/**
 * `npm run docs`: regenerates docs/components.md from the component specs. `npm run docs -- --check`
 * writes nothing and exits 1 when the file is stale (the unit test bin/components/docs.test.ts does the same).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { componentsDoc, DOCS_FILE } from './components/docs.ts';

const relative = path.relative(process.cwd(), DOCS_FILE);
const wanted = componentsDoc();
const current = await readFile(DOCS_FILE, 'utf8').catch(() => undefined);
if (process.argv.includes('--check')) {
  if (current !== wanted) {
    process.stderr.write(`${relative} is stale: run \`npm run docs\` and commit it\n`);
    process.exitCode = 1;
  } else process.stdout.write(`${relative} is up to date\n`);
} else if (current === wanted) {
  process.stdout.write(`${relative} is up to date\n`);
} else {
  await mkdir(path.dirname(DOCS_FILE), { recursive: true });
  await writeFile(DOCS_FILE, wanted);
  process.stdout.write(`wrote ${relative}\n`);
}
