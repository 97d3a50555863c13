/** Roles, and what each may do. A route names the permission it needs, never a role. */
export const ROLES = ['admin', 'analyst', 'producer', 'reader'] as const;
export type Role = (typeof ROLES)[number];

export type Permission = 'ingest' | 'read' | 'analytics' | 'manage_keys';

const grants: Record<Role, readonly Permission[]> = {
  admin: ['ingest', 'read', 'analytics', 'manage_keys'],
  analyst: ['read', 'analytics'],
  producer: ['ingest', 'read'],
  reader: ['read'],
};

export function can(role: Role, permission: Permission): boolean {
  return grants[role].includes(permission);
}
