-- A record's identity is (tenant_id, id): the same id produced under two tenants is two rows, where
-- the old keys on id alone let one tenant's record overwrite another's. The keys change in place,
-- so every row is kept (no two rows can share a key the old one already kept apart).
ALTER TABLE samples_flights DROP CONSTRAINT samples_flights_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE finance_scores DROP CONSTRAINT finance_scores_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE finance_statements DROP CONSTRAINT finance_statements_pkey, ADD PRIMARY KEY (tenant_id, id);
-- market_latest was keyed by 'tenant:symbol', where tenant 'a:b' with symbol 'c' met tenant 'a' with
-- symbol 'b:c'; its unique index on (tenant_id, symbol) becomes the key, symbol_key a plain column.
ALTER TABLE market_latest DROP CONSTRAINT market_latest_pkey, ADD PRIMARY KEY (tenant_id, symbol);
DROP INDEX IF EXISTS market_latest_symbol;
