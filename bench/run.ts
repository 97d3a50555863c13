/**
 * `npm run bench [-- <name> [args...]]`: starts the local services through infra/ (installing them
 * on a fresh machine), provisions, runs bench/<name>.ts (default `flights`: the whole platform on 3
 * million real flights, the API included), then stops the services this run started.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCatalogue } from '../core/catalogue.ts';
import { provisionAll } from '../core/provision.ts';
import { infraDown, infraStatus, infraUp, type ServiceName } from '../infra/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const [name = 'flights', ...args] = process.argv.slice(2);
const script = path.join(here, `${name}.ts`);
if (name === 'run' || !existsSync(script)) throw new Error(`no benchmark bench/${name}.ts`);

const alreadyUp = new Set((await infraStatus()).filter((s) => s.health === 'up').map((s) => s.service));
const { started } = await infraUp();
const stopAfter: ServiceName[] = started.filter((s) => !alreadyUp.has(s));
const code = await provisionAll(loadCatalogue())
  .then(
    () =>
      new Promise<number>((resolve) =>
        spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: 'inherit' }).on('exit', (c) =>
          resolve(c ?? 1),
        ),
      ),
  )
  .finally(() => (stopAfter.length > 0 ? infraDown(stopAfter) : undefined));
process.exit(code);
