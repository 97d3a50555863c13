/** Whose records a caller sees in a topic: an operator (`operate`) every tenant's, anyone else their tenant's. */
import type { Viewer } from '../../core/topic-pages.ts';
import type { Principal } from './accounts.ts';
import { can } from './roles.ts';

export const viewerOf = (principal: Principal): Viewer =>
  can(principal.role, 'operate') ? { operator: true } : { tenantId: principal.tenantId };
