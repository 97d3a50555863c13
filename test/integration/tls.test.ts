/**
 * HTTPS: `millrace api` given a certificate and key made by openssl for this run (API_TLS_CERT,
 * API_TLS_KEY) answers HTTP/1.1 and HTTP/2 clients that trust it, an authenticated POST with an
 * Idempotency-Key over HTTP/2 and the upload progress WebSocket included, and nothing in plain
 * HTTP; a missing or broken certificate stops the start with a message naming the file.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { createKey, createTenant } from '../../api/auth/accounts.ts';
import { createPostgresPool } from '../../core/postgres.ts';
import { startApi, type ApiChild } from '../../testkit/api-child.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'millrace-tls-'));
const certFile = path.join(dir, 'cert.pem');
const keyFile = path.join(dir, 'key.pem');
const db = createPostgresPool(2);
const run = randomBytes(3).toString('hex');
let api: ApiChild;
let ca: Buffer;
let producerKey: string;

before(async () => {
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1'].concat(
      ['-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
      ['-keyout', keyFile, '-out', certFile],
    ),
    { stdio: 'ignore' },
  );
  ca = readFileSync(certFile);
  api = await startApi({ API_TLS_CERT: certFile, API_TLS_KEY: keyFile });
  await createTenant(db, `tls-${run}`);
  producerKey = (await createKey(db, `tls-${run}`, 'producer')).key;
});
after(async () => {
  await api?.stop();
  await db.end();
});

/** One HTTP/2 request on a session that trusts the test's certificate: status, headers and body text. */
async function http2Request(headers: http2.OutgoingHttpHeaders, body?: string) {
  const session = http2.connect(api.url, { ca });
  try {
    assert.equal(await new Promise((resolve) => session.once('connect', () => resolve(session.alpnProtocol))), 'h2');
    const stream = session.request(headers);
    const answer = new Promise<{ headers: http2.IncomingHttpHeaders; text: string }>((resolve, reject) => {
      let responseHeaders: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      stream.on('response', (h) => (responseHeaders = h));
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => resolve({ headers: responseHeaders, text: Buffer.concat(chunks).toString() }));
      stream.on('error', reject);
    });
    stream.end(body);
    return await answer;
  } finally {
    session.close();
  }
}

describe('the API over TLS', () => {
  it('logs an https URL and answers HTTP/1.1 over TLS', async () => {
    assert.match(api.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const { status, version, body } = await new Promise<{ status?: number; version: string; body: string }>(
      (resolve, reject) =>
        https
          .get(`${api.url}/healthz`, { ca }, (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString()));
            res.on('end', () => resolve({ status: res.statusCode, version: res.httpVersion, body }));
          })
          .on('error', reject),
    );
    assert.equal(status, 200, body);
    assert.equal(version, '1.1');
  });

  it('answers HTTP/2, an authenticated POST with an Idempotency-Key included', async () => {
    const health = await http2Request({ ':path': '/healthz' });
    assert.equal(health.headers[':status'], 200, health.text);
    const quote = {
      id: `tls-${run}`,
      event_time: 1_700_000_000_000,
      source: 'tls-test',
      symbol: 'IBM',
      ts: 1_700_000_000_000,
      open: null,
      high: null,
      low: null,
      close: 101.5,
      volume: null,
    };
    const post = () =>
      http2Request(
        {
          ':method': 'POST',
          ':path': '/v1/topics/market.quotes.raw/records',
          authorization: `Bearer ${producerKey}`,
          'content-type': 'application/json',
          'idempotency-key': `tls-${run}`,
        },
        JSON.stringify([quote]),
      );
    const first = await post();
    assert.equal(first.headers[':status'], 200, first.text);
    assert.equal((JSON.parse(first.text) as { accepted: number }).accepted, 1);
    const again = await post();
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.text, first.text);
  });

  it('keeps the upload progress WebSocket (an HTTP/1.1 upgrade) over TLS', async () => {
    const upload = await new Promise<{ status?: number; text: string }>((resolve, reject) => {
      const request = https.request(
        `${api.url}/v1/uploads?filename=tls.csv`,
        { method: 'POST', ca, headers: { authorization: `Bearer ${producerKey}`, 'content-type': 'text/csv' } },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode, text }));
        },
      );
      request.on('error', reject);
      request.end('title,genre\nDune,sci-fi\n');
    });
    assert.equal(upload.status, 201, upload.text);
    const { id } = JSON.parse(upload.text) as { id: string };
    const socket = new WebSocket(`${api.url.replace('https', 'wss')}/v1/uploads/${id}/ws?access_token=${producerKey}`, {
      ca,
    });
    try {
      const message = await new Promise<string>((resolve, reject) => {
        socket.once('message', (data: Buffer) => resolve(data.toString()));
        socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
        socket.once('error', reject);
      });
      assert.ok('event' in (JSON.parse(message) as object), message);
    } finally {
      socket.close();
    }
  });

  it('refuses plain HTTP on its port', async () => {
    const plain = `http://${new URL(api.url).host}/healthz`;
    await assert.rejects(
      new Promise((resolve, reject) => http.get(plain, resolve).on('error', reject)),
      (error: NodeJS.ErrnoException) =>
        ['ECONNRESET', 'EPIPE'].includes(error.code ?? '') || /hang up/.test(error.message),
    );
  });

  it('a missing or broken certificate stops the start, naming the file', async () => {
    const missing = path.join(dir, 'missing.pem');
    await assert.rejects(
      startApi({ API_TLS_CERT: missing, API_TLS_KEY: keyFile }),
      new RegExp(`API_TLS_CERT=${missing}: cannot read the file`),
    );
    const notPem = path.join(dir, 'not-a-certificate.pem');
    writeFileSync(notPem, 'not a certificate\n');
    await assert.rejects(
      startApi({ API_TLS_CERT: notPem, API_TLS_KEY: keyFile }),
      new RegExp(`API_TLS_CERT=${notPem}, API_TLS_KEY=${keyFile}: not a PEM certificate and its private key`),
    );
    await assert.rejects(startApi({ API_TLS_CERT: certFile }), /API_TLS_KEY=undefined: expected .*both or neither/);
  });
});
