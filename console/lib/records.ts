/** A Kafka record's headers and payload as the API serves them (decoded Avro, or hex), shown the same on every page. */
import { el } from './dom.ts';

export type Payload =
  | { encoding: 'avro'; schema_id: number; value: unknown }
  | { encoding: 'hex'; bytes: number; hex: string; truncated: boolean };

export function payloadText(payload: Payload): string {
  if (payload.encoding === 'avro')
    return `Avro, schema ${payload.schema_id}\n${JSON.stringify(payload.value, null, 2)}`;
  return `not decodable: ${payload.bytes} bytes${payload.truncated ? ' (first 1 KiB)' : ''}, hex\n${payload.hex}`;
}

/** Headers, then the payload: what a record holds beyond its row in a table. */
export function recordDetails(headers: Record<string, string>, payload: Payload): HTMLElement[] {
  const rows = Object.entries(headers).map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', {}, v)));
  return [
    el('h4', {}, 'Headers'),
    rows.length
      ? el('table', { className: 'headers' }, el('tbody', {}, ...rows))
      : el('p', { className: 'hint' }, 'none'),
    el('h4', {}, 'Payload'),
    el('pre', { className: 'payload' }, payloadText(payload)),
  ];
}
