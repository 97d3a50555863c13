-- The operator role: platform-wide dead letters and pipeline status (api/auth/roles.ts). Granted
-- only from the command line, never by a tenant's admin over HTTP.
ALTER TABLE api_keys DROP CONSTRAINT IF EXISTS api_keys_role_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check
  CHECK (role IN ('admin', 'analyst', 'producer', 'reader', 'operator'));
ALTER TABLE users DROP CONSTRAINT IF EXISTS users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
  CHECK (role IN ('admin', 'analyst', 'producer', 'reader', 'operator'));
