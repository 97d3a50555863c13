-- Every model belongs to a tenant or to the platform (tenant_id NULL: finance.default-probability,
-- catalog-genre, whatever an operator registers from the command line). A tenant's model ids are
-- namespaced `<tenant>.<name>`: tenant names cannot hold a '.', so two tenants never contend for one
-- id and a tenant never learns another's model exists.
ALTER TABLE models ADD COLUMN IF NOT EXISTS tenant_id text REFERENCES tenants (id) ON DELETE CASCADE;
-- Existing trained models take the tenant their versions' lineage names.
UPDATE models m
   SET tenant_id = owner.tenant_id
  FROM (SELECT DISTINCT model_id, manifest -> 'lineage' ->> 'tenant_id' AS tenant_id
          FROM model_versions WHERE manifest -> 'lineage' ? 'tenant_id') owner
 WHERE owner.model_id = m.id AND m.tenant_id IS NULL
   AND starts_with(m.id, owner.tenant_id || '.')
   AND EXISTS (SELECT 1 FROM tenants t WHERE t.id = owner.tenant_id);
-- A trained model left without an owner belonged to a tenant that is gone (no key reaches it): as
-- a platform model every tenant would see it, so it goes.
DELETE FROM models m
 WHERE m.tenant_id IS NULL
   AND EXISTS (SELECT 1 FROM model_versions v WHERE v.model_id = m.id AND v.manifest -> 'lineage' ? 'tenant_id');
ALTER TABLE models ADD CONSTRAINT models_tenant_namespace
  CHECK (tenant_id IS NULL OR starts_with(id, tenant_id || '.'));
CREATE INDEX IF NOT EXISTS models_tenant ON models (tenant_id, id);

-- A version's stage: production is the active version (one per model); archived is set aside (not
-- activated or shadowed until it is moved back to staging); staging is every other version.
ALTER TABLE model_versions ADD COLUMN IF NOT EXISTS archived_at timestamptz;
ALTER TABLE model_versions ADD CONSTRAINT model_versions_active_not_archived
  CHECK (NOT (active AND archived_at IS NOT NULL));
