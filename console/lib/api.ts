/**
 * Calls to the API with the session's key. The key lives in sessionStorage (gone when the tab
 * closes) and leaves the page only as an Authorization header, never in a URL.
 */
const KEY = 'millrace.key';

export const session = {
  key: (): string | null => sessionStorage.getItem(KEY),
  save: (key: string): void => sessionStorage.setItem(KEY, key),
  clear: (): void => sessionStorage.removeItem(KEY),
};

export const authHeaders = (): Record<string, string> => ({ authorization: `Bearer ${session.key() ?? ''}` });

/** An answer other than 2xx, with the API's message (`{ error, message }`) when it sent one. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function failure(response: Response): Promise<HttpError> {
  const body = (await response.json().catch(() => ({}))) as { message?: string };
  return new HttpError(response.status, body.message ?? `HTTP ${response.status}`);
}

export async function request<T>(path: string, init: RequestInit): Promise<T> {
  const response = await fetch(path, { ...init, headers: { ...authHeaders(), ...init.headers } });
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

export const getJson = <T>(path: string, signal?: AbortSignal): Promise<T> => request<T>(path, { signal });

/** DELETE `path`: the answer (204) has no body. */
export async function deleteItem(path: string, signal?: AbortSignal): Promise<void> {
  const response = await fetch(path, { method: 'DELETE', headers: authHeaders(), signal });
  if (!response.ok) throw await failure(response);
}

export const postJson = <T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> =>
  request<T>(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal,
  });

/** `path?query` from the entries that have a value. */
export function withQuery(path: string, query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query))
    if (value !== undefined && value !== '') params.set(name, `${value}`);
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}
