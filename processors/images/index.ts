/**
 * The image validate processor: `crawl.images.raw` -> `crawl.images.accepted`. Each found image is
 * downloaded through the crawler's Fetcher (polite, size-capped, logged), its format sniffed from
 * the bytes (the content type may lie), decoded for its dimensions and dHash, and judged: rejected
 * with a reason, an exact (sha256) or near (dHash) duplicate of one the dataset has, or accepted,
 * stored as a file with its metadata in Postgres and published. Verdicts live in Postgres
 * (store.ts), once per image, so a redelivered record is neither downloaded nor judged again.
 */
import { createHash } from 'node:crypto';
import PQueue from 'p-queue';
import type { FetchLog } from '../../domain/crawl/fetch-log.ts';
import { FetchError, type Fetcher } from '../../domain/crawl/fetcher.ts';
import type { ConsumedRecord, ProcessorSpec, TransformResult } from '../runtime/index.ts';
import { CorruptImageError, decodeImage } from './decode.ts';
import { hexOf } from '../../domain/images/dhash.ts';
import { sniffImageFormat } from '../../domain/images/image-format.ts';
import type {
  Candidate,
  DatasetImageStore,
  DatasetSettings,
  Judgement,
  StoredVerdict,
} from '../../domain/images/image-store.ts';
import type { AcceptedImage, FoundImage } from '../../schemas/records/crawl.ts';
import { errorKind } from '../../core/errors.ts';
import { lineageOf } from '../runtime/lineage.ts';

export interface ImageValidationDeps {
  store: DatasetImageStore;
  fetcher: Fetcher;
  /** The Fetcher's log: flushed after each batch. */
  fetchLog?: FetchLog;
  /** Images of one batch downloaded and decoded at once (the Fetcher still bounds each host). */
  parallel?: number;
}

/** A record this processor cannot handle whatever it retries: it goes to the DLQ. */
export class ImageRecordError extends errorKind('ImageRecordError', { code: 'image_record', status: 400 }) {}

const sha256Of = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** What the bytes of a download say about it, duplicates aside. */
export async function judgeBytes(
  settings: Pick<DatasetSettings, 'min_width' | 'min_height' | 'formats'>,
  body: Buffer,
  contentType: string,
): Promise<Judgement> {
  const seen = { downloaded: true, content_type: contentType, bytes: body.length };
  const format = sniffImageFormat(body);
  if (!format)
    return {
      verdict: 'rejected',
      reason: 'unknown_format',
      detail: `the bytes are no png, jpeg, gif or webp (served as ${contentType || 'untyped'})`,
      format: null,
      ...seen,
    };
  if (!settings.formats.includes(format))
    return {
      verdict: 'rejected',
      reason: 'format_not_allowed',
      detail: `${format} is not among ${settings.formats.join(', ')}`,
      format,
      ...seen,
    };
  let decoded;
  try {
    decoded = await decodeImage(body);
  } catch (error) {
    if (!(error instanceof CorruptImageError)) throw error;
    return { verdict: 'rejected', reason: 'corrupt', detail: error.message, format, ...seen };
  }
  const { width, height, dhash } = decoded;
  if (width < settings.min_width || height < settings.min_height) {
    return {
      verdict: 'rejected',
      reason: 'too_small',
      detail: `${width}x${height} is under ${settings.min_width}x${settings.min_height}`,
      format,
      width,
      height,
      ...seen,
    };
  }
  return { verdict: 'accepted', format, width, height, sha256: sha256Of(body), dhash, ...seen };
}

/** Any content type: the bytes decide. */
const download = (fetcher: ImageValidationDeps['fetcher'], image: FoundImage) =>
  fetcher.fetch(image.url, [''], image.dataset_id);

/** The accepted-image record of a stored verdict, with its lineage. */
function acceptedImage(
  record: ConsumedRecord<FoundImage>,
  verdict: StoredVerdict,
  absolutePath: string,
): AcceptedImage {
  const { value } = record;
  return {
    ...lineageOf(record),
    dataset_id: value.dataset_id,
    keyword: value.keyword,
    url: value.url,
    path: absolutePath,
    sha256: verdict.sha256!,
    dhash: hexOf(BigInt(verdict.dhash!)),
    format: verdict.format!,
    width: verdict.width!,
    height: verdict.height!,
    bytes: verdict.bytes!,
    content_type: verdict.content_type ?? '',
  };
}

/** A verdict stored before a crash whose file was not written yet: download again and write it, if the bytes are the same. */
async function restoreFile(
  { store, fetcher }: ImageValidationDeps,
  image: FoundImage,
  verdict: StoredVerdict,
): Promise<void> {
  if (await store.hasFile(verdict.path!, verdict.bytes!)) return;
  let body: Buffer;
  try {
    ({ body } = await download(fetcher, image));
  } catch (error) {
    if (!(error instanceof FetchError)) throw error;
    throw new ImageRecordError(
      `${image.url} was accepted but its file is missing and cannot be downloaded again: ${error.message}`,
    );
  }
  if (sha256Of(body) !== verdict.sha256)
    throw new ImageRecordError(
      `${image.url} changed since it was accepted (sha256 differs); its file cannot be restored`,
    );
  await store.writeFile(verdict.path!, body);
}

export function imageValidation(
  deps: ImageValidationDeps,
  topics = { input: 'crawl.images.raw', output: 'crawl.images.accepted' },
): ProcessorSpec<FoundImage, AcceptedImage> {
  const { store, fetcher } = deps;

  const validate = async (record: ConsumedRecord<FoundImage>): Promise<AcceptedImage[]> => {
    const image = record.value;
    const settings = await store.settings(image.dataset_id);
    if (!settings || settings.tenant_id !== image.tenant_id)
      throw new ImageRecordError(`tenant ${image.tenant_id} has no dataset ${image.dataset_id}`);
    const candidate: Candidate = {
      dataset_id: image.dataset_id,
      tenant_id: image.tenant_id,
      url: image.url,
      record_id: image.id,
      keyword: image.keyword,
    };
    let verdict = await store.existing(image.dataset_id, image.url);
    if (verdict?.verdict === 'accepted') await restoreFile(deps, image, verdict);
    if (!verdict) {
      let judgement: Judgement;
      let body: Buffer | undefined;
      try {
        const fetched = await download(fetcher, image);
        body = fetched.body;
        judgement = await judgeBytes(settings, body, fetched.contentType);
      } catch (error) {
        if (!(error instanceof FetchError)) throw error;
        judgement = {
          verdict: 'rejected',
          reason: 'download_failed',
          detail: `${error.outcome}: ${error.message}`,
          downloaded: false,
          content_type: null,
          format: null,
          bytes: null,
        };
      }
      verdict = await store.decide(candidate, judgement);
      if (verdict.verdict === 'accepted') {
        // the verdict may be another instance's, decided meanwhile: these bytes are its file only if they hash the same
        if (judgement.verdict === 'accepted' && judgement.sha256 === verdict.sha256)
          await store.writeFile(verdict.path!, body!);
        else await restoreFile(deps, image, verdict);
      }
    }
    return verdict.verdict === 'accepted' ? [acceptedImage(record, verdict, store.absolute(verdict.path!))] : [];
  };

  return {
    name: 'image-validation',
    ...topics,
    async transform(records, ctx) {
      const queue = new PQueue({ concurrency: deps.parallel ?? 8 });
      const results = await Promise.all(
        records.map((record) =>
          queue.add(async (): Promise<TransformResult<AcceptedImage>> => {
            try {
              return await validate(record);
            } catch (error) {
              if (error instanceof ImageRecordError) return error; // the record is at fault: DLQ
              throw error; // Postgres or the disk away: the batch is retried
            }
          }),
        ),
      );
      deps.fetchLog?.flush().catch((error: Error) => ctx.log.warn({ err: error }, 'fetch log not written'));
      return results;
    },
  };
}
