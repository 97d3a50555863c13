-- Merchants' taxonomies (genres and attribute values), versioned: an upload names `id` (the latest)
-- or `id@version`, and a classified row records the version it was classified against. Reference
-- items (labelled examples for the nearest-neighbour fallback) belong to a taxonomy version.
CREATE TABLE IF NOT EXISTS catalog_taxonomies (
  tenant_id  text    NOT NULL REFERENCES tenants (id),
  id         text    NOT NULL CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
  version    integer NOT NULL CHECK (version >= 1),
  body       jsonb   NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id, version)
);

CREATE TABLE IF NOT EXISTS catalog_references (
  tenant_id   text    NOT NULL,
  taxonomy_id text    NOT NULL,
  version     integer NOT NULL,
  text        text    NOT NULL,
  genre       text    NOT NULL,
  FOREIGN KEY (tenant_id, taxonomy_id, version) REFERENCES catalog_taxonomies (tenant_id, id, version)
);
CREATE INDEX IF NOT EXISTS catalog_references_taxonomy ON catalog_references (tenant_id, taxonomy_id, version);
