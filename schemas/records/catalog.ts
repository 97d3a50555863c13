/** The catalog topics' record types: catalog.rows.raw and catalog.rows.classified. */

/** One row of an uploaded product file (catalog.rows.raw). */
export interface UploadedRow {
  id: string;
  tenant_id: string;
  event_time: number;
  upload_id: string;
  row_number: number;
  fields: Record<string, string>;
  taxonomy: string | null;
}

/** An attribute value a row's text matched. */
export interface AttributeMatch {
  value: string;
  rule: 'exact' | 'fuzzy';
  /** 1 for exact; 1 - edit distance / length for fuzzy */
  score: number;
}

/** A classified row with its lineage (catalog.rows.classified). */
export interface ClassifiedRow {
  id: string;
  tenant_id: string;
  event_time: number;
  upload_id: string;
  row_number: number;
  taxonomy: string;
  genre: string | null;
  confidence: number;
  decided_by: 'model' | 'reference' | 'none';
  model_id: string;
  model_version: string;
  attributes: Record<string, AttributeMatch>;
  fields: Record<string, string>;
  source_topic: string;
  source_partition: number;
  source_offset: number;
}
