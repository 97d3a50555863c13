-- Sources report their status too (core/role-heartbeat.ts); a source reads no topic, so it has no
-- consumer group. Roles: processor | sink | trainer | source.
ALTER TABLE role_instances ALTER COLUMN group_id DROP NOT NULL;
