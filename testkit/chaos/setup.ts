/**
 * What the chaos harness and the soak share before they drive anything: the services up and
 * provisioned, clients, and a tenant of the run with the catalog taxonomy its rows name and the
 * market symbols it watches (so the market sources have work to do).
 */
import { createTenant } from '../../api/auth/accounts.ts';
import { loadCatalogue } from '../../core/catalogue.ts';
import { createClickHouse } from '../../core/clickhouse.ts';
import { createKafka } from '../../core/kafka.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { provisionAll } from '../../core/provision.ts';
import { Registry } from '../../core/schema-registry.ts';
import { infraUp } from '../../infra/index.ts';
import { saveTaxonomy } from '../../domain/catalog/taxonomy-store.ts';
import type { Clients } from './verify.ts';

export const TAXONOMY = 'films';
/** The pipelines the harness and the soak run (the image crawl and training need a person to start them). */
export const PIPELINES = ['samples.flights', 'finance.scoring', 'catalog.classification', 'market.quotes'];
/** The pipelines whose every id the verdict looks for (the market's sources fetch pages the test hosts cannot reach). */
export const VERIFIED_PIPELINES = PIPELINES.filter((p) => p !== 'market.quotes');

/** `cluster`: the local cluster's services (the configuration points at them: cluster.ts useCluster). */
export async function prepare(run: string, cluster = false): Promise<{ clients: Clients; tenant: string }> {
  await infraUp(undefined, { cluster });
  await provisionAll(loadCatalogue());
  const clients: Clients = {
    kafka: createKafka('millrace-chaos'),
    registry: new Registry(),
    clickhouse: createClickHouse(),
    db: createPostgresPool(2),
  };
  const tenant = (await createTenant(clients.db, `chaos-${run}`)).id;
  await saveTaxonomy(
    clients.db,
    tenant,
    TAXONOMY,
    {
      genres: ['Drama', 'Comedy', 'Action', 'Horror', 'Adventure', 'Documentary'],
      attributes: { format: ['DVD', 'Blu-ray'] },
    },
    [],
  );
  await clients.db.query(
    "INSERT INTO market_symbols (tenant_id, symbol, interval_s) SELECT $1, s, 10 FROM unnest(ARRAY['MSFT','AMZN','IBM','GOOG','AAPL']) AS s",
    [tenant],
  );
  return { clients, tenant };
}

export const closeClients = (clients: Clients) => Promise.all([clients.clickhouse.close(), clients.db.end()]);
