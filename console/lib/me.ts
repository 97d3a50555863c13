/** Who the session's key is (`GET /v1/me`): the console shows pages and actions by its permissions. */
export type Permission =
  'ingest' | 'read' | 'analytics' | 'manage_keys' | 'manage_members' | 'manage_models' | 'operate';

export interface Me {
  tenant_id: string;
  role: string;
  subject: string;
  permissions: Permission[];
}

/** Whether `me` has any of `permissions`. */
export const can = (me: Me, ...permissions: Permission[]): boolean =>
  permissions.some((p) => me.permissions.includes(p));
