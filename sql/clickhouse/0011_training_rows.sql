-- The rows of training datasets built from a tenant's files (models/tabular/uploaded-datasets.ts),
-- one table for every tenant: tenant first in the key, and every read names the tenant, the
-- dataset and a version that Postgres shows ready. 18.16 has no Map or JSON type: a row holds its
-- columns as two pairs of parallel arrays, named values by kind. Numbers: numeric columns,
-- timestamps (epoch milliseconds) and booleans (0/1); strings: categorical and text columns, and a
-- classification target (its class). A missing value is NULL. Read one column with
-- numbers[indexOf(number_columns, 'Horsepower')].
CREATE TABLE IF NOT EXISTS training_rows (
  tenant_id      String,
  dataset        String,
  version        UInt32,
  row_number     UInt64,
  number_columns Array(String),
  numbers        Array(Nullable(Float64)),
  string_columns Array(String),
  strings        Array(Nullable(String))
) ENGINE = MergeTree() ORDER BY (tenant_id, dataset, version, row_number);
