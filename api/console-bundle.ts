/**
 * The console's browser code (console/, TypeScript) bundled by esbuild into dist/console/ by
 * `npm run build` (bin/build.js calls `buildConsole`), and served from there: the API compiles
 * nothing at run time. bin/millrace.js refuses a build older than any console/ file, as it does for
 * the server's sources. uPlot's stylesheet lands in app.css, not inline.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { packageRoot } from '../core/package-root.ts';

export const CONSOLE_DIR = path.join(packageRoot, 'console');
/** Where the build writes the bundle. */
export const CONSOLE_BUILD_DIR = path.join(packageRoot, 'dist', 'console');

export interface Asset {
  body: Uint8Array<ArrayBuffer>;
  type: string;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
};

/** Bundles console/main.ts into CONSOLE_BUILD_DIR: app.js, app.css and their source maps. */
export async function buildConsole(): Promise<void> {
  const { build } = await import('esbuild');
  await build({
    entryPoints: { app: path.join(CONSOLE_DIR, 'main.ts') },
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    outdir: CONSOLE_BUILD_DIR,
    logLevel: 'warning',
  });
}

/** The bundle's files by name, as the build wrote them. */
export async function bundleConsole(): Promise<Map<string, Asset>> {
  const names = await readdir(CONSOLE_BUILD_DIR).catch(() => {
    throw new Error(`the console is not built (${CONSOLE_BUILD_DIR}): run npm run build`);
  });
  return new Map(
    await Promise.all(
      names.map(async (name): Promise<[string, Asset]> => [
        name,
        {
          body: new Uint8Array(await readFile(path.join(CONSOLE_BUILD_DIR, name))),
          type: TYPES[path.extname(name)] ?? 'application/octet-stream',
        },
      ]),
    ),
  );
}
