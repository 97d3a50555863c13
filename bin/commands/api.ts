import { startApi } from '../../api/server.ts';
import { onShutdown } from '../../core/shutdown.ts';
import { dropTenantSqlUser } from './sql-users.ts';

export async function run(): Promise<'running'> {
  const api = await startApi({ dropSqlUser: dropTenantSqlUser });
  onShutdown('api', () => api.close());
  return 'running';
}
