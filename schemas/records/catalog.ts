/** The catalog topics' record types: catalog.rows.raw and catalog.rows.classified. */
import type { Envelope, Lineage } from './envelope.ts';

/** One row of an uploaded product file (catalog.rows.raw). */
export interface UploadedRow extends Envelope {
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
export interface ClassifiedRow extends Envelope, Lineage {
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
}
