-- Accounts (api/auth): a user's display name; sessions, one per login, that a refresh token names
-- (`sid`) and that logout, a password change or an admin revokes; and invitations, each a one-time
-- token kept only as its sha256. An invitation with no tenant is a sign-up invitation: it lets its
-- holder create a tenant when SIGNUP_MODE is `invite`.
ALTER TABLE users ADD COLUMN IF NOT EXISTS display_name text;
CREATE INDEX IF NOT EXISTS users_tenant ON users (tenant_id);

CREATE TABLE IF NOT EXISTS sessions (
  id           text PRIMARY KEY,               -- `sid` in the session's access and refresh tokens
  tenant_id    text NOT NULL REFERENCES tenants (id),
  user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  refresh_jti  text NOT NULL,                  -- the one refresh token of the session still valid (rotated on use)
  user_agent   text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  refreshed_at timestamptz,
  expires_at   timestamptz NOT NULL,
  revoked_at   timestamptz
);
CREATE INDEX IF NOT EXISTS sessions_tenant ON sessions (tenant_id);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id);

CREATE TABLE IF NOT EXISTS invitations (
  id           text PRIMARY KEY,
  tenant_id    text REFERENCES tenants (id),   -- NULL: a sign-up invitation (creates a tenant)
  email        text NOT NULL,
  role         text NOT NULL CHECK (role IN ('admin', 'analyst', 'producer', 'reader')),
  token_sha256 text NOT NULL UNIQUE,           -- the token is 256 random bits: a fast hash is enough
  invited_by   text NOT NULL,                  -- the inviter's subject (`user:<id>`, `key:<id>`, `cli`)
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  accepted_at  timestamptz
);
CREATE INDEX IF NOT EXISTS invitations_tenant ON invitations (tenant_id);
