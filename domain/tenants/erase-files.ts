/**
 * The files of a tenant under MILLRACE_HOME: folders named by the id of a row of the tenant (an
 * upload, a training file, a bulk job) and folders named by the tenant (its image datasets).
 */
import fs from 'node:fs/promises';
import path from 'node:path';

/** Folders `<root>/<id>` for each row of `table` of the tenant. */
export interface RowFolders {
  table: string;
  root: string;
}

/** How many regular files are under `dir` (0 when it does not exist). */
async function countFiles(dir: string): Promise<number> {
  const entries = await fs
    .readdir(dir, { recursive: true, withFileTypes: true })
    .catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
  return entries.filter((e) => e.isFile()).length;
}

/** Removes each folder (a child of its root, never the root or above it); how many files they held. */
export async function removeFolders(folders: readonly { root: string; name: string }[]): Promise<number> {
  let removed = 0;
  for (const { root, name } of folders) {
    const dir = path.resolve(root, name);
    if (path.dirname(dir) !== path.resolve(root)) throw new Error(`"${name}" is not a folder name under ${root}`);
    removed += await countFiles(dir);
    await fs.rm(dir, { recursive: true, force: true });
  }
  return removed;
}
