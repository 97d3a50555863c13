/**
 * The routes whose request bodies stream (to disk, or through a model as the answer streams back)
 * instead of being read whole: uploads, training files, bulk predictions and batch scoring. They take their own,
 * larger size cap (UPLOAD_MAX_BYTES) and no Idempotency-Key, since both would mean holding the body.
 */
export function isStreamedBody(method: string, path: string): boolean {
  return (
    method === 'POST' &&
    (path === '/v1/uploads' ||
      path === '/v1/training-files' ||
      path === '/v1/predictions/bulk' ||
      /^\/v1\/models\/[^/]+\/batch$/.test(path))
  );
}
