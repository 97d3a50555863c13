#!/usr/bin/env node
/**
 * `npm run build` (and `npm ci`, through `prepare`): the product's TypeScript compiled to dist/, one
 * JavaScript file per source file at the same relative path, relative `.ts` imports rewritten to
 * `.js`. esbuild strips the types only, as tsx did at run time; `npm run check` does the type check.
 * Then the console's browser bundle, dist/console/ (api/console-bundle.ts). bin/millrace.js runs
 * dist/ and refuses to start when a source is newer than the last build.
 */
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const DIST = path.join(root, 'dist');
/** Written after a successful build, dated when it began: a source edited during a build is newer. */
export const STAMP = path.join(DIST, '.built');
/** The floors the server runs (not tests or benchmarks; console/, the browser's code, is bundled apart). */
const FLOORS = ['schemas', 'core', 'infra', 'models', 'domain', 'processors', 'connectors', 'api', 'bin'];

const filesUnder = (floor) =>
  fs.readdirSync(path.join(root, floor), { recursive: true, encoding: 'utf8' }).map((f) => path.join(root, floor, f));

/** The product's TypeScript sources, tests left out. */
export function sources() {
  return FLOORS.flatMap(filesUnder).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'));
}

/** What dist/console/ is bundled from (api/console-bundle.ts): console/ but its tests. */
const consoleSources = () => filesUnder('console').filter((f) => !f.endsWith('.test.ts'));

/** Why dist/ cannot run as it is (missing, or a source newer than the build), or undefined. */
export function staleness() {
  const built = fs.statSync(STAMP, { throwIfNoEntry: false })?.mtimeMs;
  if (built === undefined) return 'dist/ has not been built';
  const newer = [...sources(), ...consoleSources()].find((file) => fs.statSync(file).mtimeMs > built);
  return newer && `${path.relative(root, newer)} is newer than dist/`;
}

export async function build() {
  const { build: esbuild } = await import('esbuild');
  const started = new Date();
  const entryPoints = sources();
  // written over in place, not emptied first: roles running from dist/ may still import from it
  await esbuild({
    entryPoints,
    outdir: DIST,
    outbase: root,
    // bundle, with every import left external, is how esbuild rewrites the relative ones' extensions
    bundle: true,
    packages: 'external',
    plugins: [
      {
        name: 'relative-ts-to-js',
        setup(b) {
          b.onResolve({ filter: /^\.\.?\/.*\.ts$/ }, (args) => ({
            path: args.path.replace(/\.ts$/, '.js'),
            external: true,
          }));
        },
      },
    ],
    format: 'esm',
    platform: 'node',
    target: 'node20',
    keepNames: true, // as tsx ran the sources: class and function names (errors, logs) stay as written
    tsconfig: path.join(root, 'tsconfig.json'),
    logLevel: 'warning',
  });
  const built = new Set(entryPoints.map((file) => path.join(DIST, path.relative(root, file)).replace(/\.ts$/, '.js')));
  for (const file of fs.readdirSync(DIST, { recursive: true, encoding: 'utf8' }))
    if (file.endsWith('.js') && !file.startsWith('console') && !built.has(path.join(DIST, file)))
      fs.rmSync(path.join(DIST, file)); // its source is gone
  const { buildConsole } = await import(pathToFileURL(path.join(DIST, 'api', 'console-bundle.js')).href);
  await buildConsole();
  fs.writeFileSync(STAMP, '');
  fs.utimesSync(STAMP, started, started);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await build();
