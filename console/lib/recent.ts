/**
 * Ids this tab created or opened, newest first, per kind (training jobs, image datasets, bulk
 * jobs): the API looks these up by id and lists none of them, so the console remembers them.
 */
const MAX = 20;
const storageKey = (kind: string) => `millrace.recent.${kind}`;

export function recent(kind: string): string[] {
  try {
    const ids: unknown = JSON.parse(sessionStorage.getItem(storageKey(kind)) ?? '[]');
    return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
  } catch {
    return [];
  }
}

export function remember(kind: string, id: string): void {
  sessionStorage.setItem(storageKey(kind), JSON.stringify([id, ...recent(kind).filter((i) => i !== id)].slice(0, MAX)));
}
