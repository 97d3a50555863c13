/**
 * Whose models a caller may change. Everyone sees their tenant's models and the platform's
 * (models/model-registry.ts `visibleModel`); a tenant's admin changes its tenant's models, an
 * operator the platform's. Another tenant's model is unknown (404), never forbidden: a tenant must
 * not learn that it exists.
 */
import type { Pool } from '../../core/postgres.ts';
import { UnknownModelError, visibleModel } from '../../models/model-registry.ts';
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

/**
 * The owner a version uploaded by this caller gets (null: the platform), once it may upload it: a
 * tenant's admin into its tenant's namespace (`<tenant>.<name>`), an operator a platform model
 * outside every tenant's. Outside its namespace a tenant gets one answer whether a model is there
 * or not, unless it is a platform model (which everyone sees).
 */
export async function uploadOwner(db: Pool, principal: Principal, modelId: string): Promise<string | null> {
  const operator = can(principal.role, 'operate');
  const existing = await visibleModel(db, modelId, { operator: true }).catch((error: unknown) => {
    if (error instanceof UnknownModelError) return undefined;
    throw error;
  });
  if (!operator && !modelId.startsWith(`${principal.tenantId}.`)) {
    if (existing?.tenant_id === null) await manageableModel(db, principal, modelId); // the platform's: 403
    throw new ApiError(
      400,
      'invalid_request',
      `a model of this tenant has an id that starts with "${principal.tenantId}."`,
      'id',
    );
  }
  if (existing) {
    await manageableModel(db, principal, modelId);
    return existing.tenant_id;
  }
  if (operator) {
    const { rows } = await db.query('SELECT 1 FROM tenants WHERE id = $1', [modelId.split('.')[0]]);
    if (rows.length > 0)
      throw new ApiError(
        400,
        'invalid_request',
        `ids that start with "${modelId.split('.')[0]}." are that tenant's`,
        'id',
      );
    return null;
  }
  return principal.tenantId;
}
