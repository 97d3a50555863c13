/** Roles, and what each may do. A route names the permission it needs, never a role. */
export const ROLES = ['admin', 'analyst', 'producer', 'reader', 'operator'] as const;
export type Role = (typeof ROLES)[number];

/**
 * The roles a tenant's admin may hand out over HTTP. `operator` sees every tenant's dead letters
 * and the pipelines, so it is granted only from the command line, by whoever runs the platform.
 */
export const TENANT_ROLES = ['admin', 'analyst', 'producer', 'reader'] as const satisfies readonly Role[];

/** `manage_members`: invite, change the role of and remove the tenant's members, and end their sessions. */
/** `manage_models`: change a model (activate, stage, register); whose models, api/auth/model-access.ts decides. */
export type Permission =
  'ingest' | 'read' | 'analytics' | 'manage_keys' | 'manage_members' | 'manage_models' | 'operate';

const grants: Record<Role, readonly Permission[]> = {
  admin: ['ingest', 'read', 'analytics', 'manage_keys', 'manage_members', 'manage_models'],
  analyst: ['read', 'analytics'],
  producer: ['ingest', 'read'],
  reader: ['read'],
  operator: ['read', 'manage_models', 'operate'],
};

export const permissionsOf = (role: Role): readonly Permission[] => grants[role];

export function can(role: Role, permission: Permission): boolean {
  return grants[role].includes(permission);
}
