/**
 * The console's browser code (console/, TypeScript) bundled by esbuild in memory, once, on the
 * first request that needs it: the browser's code is not part of `npm run build` (dist/ is the
 * server's), so no built console file can go stale. uPlot's stylesheet lands in app.css, not inline.
 */
import path from 'node:path';
import { build } from 'esbuild';
import { packageRoot } from '../core/package-root.ts';

export const CONSOLE_DIR = path.join(packageRoot, 'console');

export interface Asset {
  body: Uint8Array<ArrayBuffer>;
  type: string;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
};

/** The bundle's files by name: app.js, app.css and their source maps. */
export async function bundleConsole(): Promise<Map<string, Asset>> {
  const result = await build({
    entryPoints: { app: path.join(CONSOLE_DIR, 'main.ts') },
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    outdir: CONSOLE_DIR, // names the files; nothing is written
    write: false,
    logLevel: 'silent',
  });
  return new Map(
    result.outputFiles.map((file) => [
      path.basename(file.path),
      { body: new Uint8Array(file.contents), type: TYPES[path.extname(file.path)] ?? 'application/octet-stream' },
    ]),
  );
}
