/** The image-dataset topics' record types: crawl.images.raw and crawl.images.accepted. */
import type { Envelope, Lineage } from './envelope.ts';

/** An image a search result pointed at (crawl.images.raw). */
export interface FoundImage extends Envelope {
  source: string;
  dataset_id: string;
  keyword: string;
  search_term: string;
  url: string;
  page_url: string;
  position: number;
}

/** An image fetched, validated and stored (crawl.images.accepted). */
export interface AcceptedImage extends Envelope, Lineage {
  dataset_id: string;
  keyword: string;
  url: string;
  path: string;
  sha256: string;
  dhash: string;
  format: 'png' | 'jpeg' | 'gif' | 'webp';
  width: number;
  height: number;
  bytes: number;
  content_type: string;
}
