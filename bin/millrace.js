#!/usr/bin/env node
// `npx millrace <command>`: runs the compiled CLI in dist/ (`npm run build`, which `npm ci` runs).
// No TypeScript compiler at run time; a checkout whose sources changed since the build is refused.
import process from 'node:process';
import { staleness } from './build.js';

const stale = staleness();
if (stale) {
  process.stderr.write(`millrace: ${stale}; run \`npm run build\` (npm ci, npm test and npm run bench build too)\n`);
  process.exit(70); // EX_SOFTWARE
}
await import('../dist/bin/cli.js');
