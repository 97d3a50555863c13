/**
 * The package's root folder: the nearest one above this file that holds package.json. It is the
 * same from core/ (the sources, under tsx in tests) and dist/core/ (the compiled product), so the
 * files shipped beside the code (sql/, schemas/, models/, console/, infra/) are found from either.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function rootAbove(dir: string): string {
  if (existsSync(path.join(dir, 'package.json'))) return dir;
  const parent = path.dirname(dir);
  if (parent === dir) throw new Error('no package.json above the millrace sources');
  return rootAbove(parent);
}

export const packageRoot = rootAbove(path.dirname(fileURLToPath(import.meta.url)));
