/**
 * Whose models a caller may change. Everyone sees their tenant's models and the platform's
 * (models/model-registry.ts `visibleModel`); a tenant's admin changes its tenant's models, an
 * operator the platform's. Another tenant's model is unknown (404), never forbidden: a tenant must
 * not learn that it exists.
 */
import type { Pool } from '../../core/postgres.ts';
import { visibleModel } from '../../models/model-registry.ts';
import { ApiError } from '../errors.ts';
import type { Principal } from './accounts.ts';
import { can } from './roles.ts';
import { viewerOf } from './viewer.ts';

export async function manageableModel(db: Pool, principal: Principal, modelId: string): Promise<void> {
  const { tenant_id } = await visibleModel(db, modelId, viewerOf(principal));
  const operator = can(principal.role, 'operate');
  if (tenant_id === null && !operator)
    throw new ApiError(
      403,
      'forbidden',
      `${modelId} is a platform model: read-only to tenants, changed by an operator (npx millrace models)`,
      'id',
    );
  if (tenant_id !== null && operator)
    throw new ApiError(403, 'forbidden', `${modelId} is a tenant's model: its tenant's admins change it`, 'id');
}
