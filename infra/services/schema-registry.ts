/**
 * Apicurio Registry, which speaks the Confluent schema-registry API under /apis/ccompat/v7.
 * 3.0.9 because later lines need Java 21. Its parent pom is missing from Maven Central, so it cannot
 * be a dependency in infra/pom.xml; dependency:get fetches the app archive on its own instead.
 * Storage is an H2 file under the data folder, so schemas survive restarts.
 *
 * Apicurio listens on the next port up (loopback only); the registry's address is the guard's
 * (infra/registry-guard.ts), one process that runs Apicurio as its child (infra/registry-guard-main.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { hostAndPort, loadConfig } from '../../core/config.ts';
import { log } from '../log.ts';
import { processService } from '../managed.ts';
import { dataDir, libDir, logFile } from '../paths.ts';
import { httpGet } from '../probe.ts';
import { run } from '../process.ts';

const VERSION = '3.0.9';
const config = loadConfig();
const url = config.SCHEMA_REGISTRY_URL.replace(/\/+$/, '');
const { host, port } = hostAndPort(url);
/** Where Apicurio itself listens, behind the guard. */
export const apicurioAddress = { host: '127.0.0.1', port: port + 1 };
const guardMain = path.join(config.repoRoot, 'dist', 'infra', 'registry-guard-main.js'); // compiled by npm run build
const appDir = path.join(libDir, `apicurio-${VERSION}`);
const runnerJar = `apicurio-registry-app-${VERSION}-runner.jar`;
const archive = path.join(libDir, `apicurio-registry-app-${VERSION}-all.tar.gz`);

export const registry = processService({
  name: 'registry',
  host,
  ports: [port, apicurioAddress.port],
  isInstalled: async () => fs.existsSync(path.join(appDir, runnerJar)),

  async install() {
    fs.mkdirSync(libDir, { recursive: true });
    const output = logFile('registry');
    if (!fs.existsSync(archive)) {
      log.info({ service: 'registry', into: libDir, output }, `downloading Apicurio ${VERSION} (mvn)`);
      const artifact = `-Dartifact=io.apicurio:apicurio-registry-app:${VERSION}:tar.gz:all`;
      const get = 'org.apache.maven.plugins:maven-dependency-plugin:2.8:get';
      const args = ['-q', '-B', get, '-Dtransitive=false', artifact, `-Ddest=${libDir}/`];
      await run({ cmd: 'mvn', args }, output);
    }
    // Unpacked aside and renamed into place, so an interrupted unpack never looks installed.
    log.info({ service: 'registry', into: appDir }, 'unpacking Apicurio Registry');
    const partial = `${appDir}.partial`;
    fs.rmSync(partial, { recursive: true, force: true });
    fs.mkdirSync(partial);
    await run({ cmd: 'tar', args: ['xzf', archive, '-C', partial] }, output);
    fs.rmSync(appDir, { recursive: true, force: true });
    fs.renameSync(partial, appDir);
    fs.rmSync(archive);
  },

  health: async () => (await httpGet(`${url}/subjects`))?.status === 200,

  async version() {
    const res = await httpGet(`${new URL(url).origin}/apis/registry/v3/system/info`);
    if (res?.status !== 200) return undefined;
    return (JSON.parse(res.body) as { version?: string }).version;
  },

  async prepare() {
    const data = dataDir('registry');
    fs.mkdirSync(data, { recursive: true });
    return {
      cmd: process.execPath,
      cwd: config.repoRoot,
      args: [
        guardMain,
        'java',
        '-Xmx512m',
        `-Dquarkus.http.host=${apicurioAddress.host}`,
        `-Dquarkus.http.port=${apicurioAddress.port}`,
        // Health polls would otherwise fill the log.
        '-Dquarkus.http.access-log.enabled=false',
        // A lookup or registration of a schema that differs from a registered one only in formatting,
        // key order or docs finds the registered one, as Confluent's registry does (a Python client
        // sends its Avro library's rendering of the schema, not the .avsc text).
        '-Dapicurio.ccompat.use-canonical-hash=true',
        '-Dapicurio.storage.kind=sql',
        '-Dapicurio.storage.sql.kind=h2',
        `-Dapicurio.datasource.url=jdbc:h2:file:${path.join(data, 'db')}`,
        '-Dapicurio.datasource.username=sa',
        '-Dapicurio.datasource.password=sa',
        '-jar',
        path.join(appDir, runnerJar),
      ],
    };
  },
});
