import { startApi } from '../../api/server.ts';
import { onShutdown } from '../../core/shutdown.ts';

export async function run(): Promise<'running'> {
  const api = await startApi();
  onShutdown('api', () => api.close());
  return 'running';
}
