// Requests as slow, huge, hostile or badly encoded clients send them, over a
// raw socket to a listening service: every one is answered in the API's JSON
// error body with the right status (408, 413, 415, 431, 400, 422, 503), the
// connection is closed when the rest of the request cannot be read, and
// nothing is stored. HTTP-level behaviour, the same on either database: run
// on the embedded one.
import net from 'node:net';
import t from 'tap';
import { createTestContext, persona, type Test, type TestContext } from './helpers/app.js';
import { ERROR_CODES } from './helpers/contract.js';

const REQUEST_TIMEOUT_MS = 1500;
const HEADERS_TIMEOUT_MS = 1000;
/** Far above the timeouts above, far below the minutes a stalled client would hold a connection without them. */
const ANSWER_BOUND_MS = 15_000;

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection (FIN or reset) after answering. */
  closed: boolean;
  ms: number;
}

async function started(t: Test, env: Record<string, string> = {}): Promise<{ ctx: TestContext; port: number }> {
  const ctx = await createTestContext(t, 'pglite', {
    REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
    ...env,
  });
  if (!ctx) throw new Error('no PGlite');
  await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  return { ctx, port: (ctx.app.server.address() as net.AddressInfo).port };
}

/** Opens a socket, lets `send` write to it, and reads the first answer; the socket is gone when this resolves. */
function exchange(port: number, send: (socket: net.Socket) => void, waitForClose = true): Promise<RawAnswer> {
  const began = performance.now();
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let raw = Buffer.alloc(0);
    let closed = false;
    const finish = () => {
      clearTimeout(guard);
      socket.destroy();
      const text = raw.toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const headers = Object.fromEntries(
        headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
      );
      const length = Number(headers['content-length'] ?? Number.NaN);
      const body = rest.join('\r\n\r\n');
      resolve({
        status: Number(statusLine.split(' ')[1]),
        headers,
        body: Number.isNaN(length) ? body : Buffer.from(body).subarray(0, length).toString('utf8'),
        closed,
        ms: performance.now() - began,
      });
    };
    const guard = setTimeout(() => (raw.length > 0 ? finish() : reject(new Error('no answer within the bound'))), ANSWER_BOUND_MS);
    socket.on('data', (chunk) => {
      raw = Buffer.concat([raw, chunk]);
      const text = raw.toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      const length = /content-length:\s*(\d+)/i.exec(text.slice(0, end))?.[1];
      if (!waitForClose && end >= 0 && length !== undefined && Buffer.byteLength(text.slice(end + 4)) >= Number(length)) finish();
    });
    // A client still writing when the server closes may see a reset: what it read before counts.
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      finish();
    });
    send(socket);
  });
}

/** The answer is the API's JSON error with this status and error_code. */
function assertJsonError(t: Test, answer: RawAnswer, status: number, code: string): Record<string, unknown> {
  t.equal(answer.status, status, `status ${status}: ${answer.body.slice(0, 300)}`);
  t.match(answer.headers['content-type'], /^application\/json/);
  const body = JSON.parse(answer.body) as Record<string, unknown>;
  t.match(body, { code: status, status: String, error_code: code, message: String });
  t.ok(ERROR_CODES.includes(String(body.error_code)));
  return body;
}

/** One listening service for the cases that leave it running (the last one stops its own). */
const shared = started(t);

/**
 * A POST /tags whose body is only partly sent, so that it stays in flight
 * (holding its turn) until `finish` sends the rest, and anything after it.
 */
function partialUpload(port: number, authorization: string, name: string, headers: Record<string, string> = {}) {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk) => (received += chunk.toString('utf8')));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const body = JSON.stringify({ name });
  const head = request('POST', '/tags', { Authorization: authorization, 'Content-Type': 'application/json', ...headers }, body);
  socket.write(head.subarray(0, head.length - body.length + 4));
  return {
    socket,
    closed,
    received: () => received,
    finish: (after = '') => socket.write(`${body.slice(4)}${after}`),
  };
}

function request(method: string, path: string, headers: Record<string, string>, body?: Buffer | string): Buffer {
  const bytes = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  if (body !== undefined) lines.push(`Content-Length: ${bytes.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), bytes]);
}

t.test('408 for a body announced and never sent, and for headers that never end', async (t) => {
  const { ctx, port } = await shared;
  const user = persona('slow');
  await ctx.register(user);
  const { authorization } = await ctx.auth(user);
  const stalledBody = await exchange(port, (socket) =>
    socket.write(
      `POST /tags HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name":`,
    ),
  );
  assertJsonError(t, stalledBody, 408, 'request_timeout');
  t.ok(stalledBody.closed, 'the connection is closed');
  t.ok(stalledBody.ms >= REQUEST_TIMEOUT_MS - 100 && stalledBody.ms < ANSWER_BOUND_MS, `answered after ${stalledBody.ms.toFixed(0)} ms`);
  t.equal(await ctx.db.prisma.tag.count(), 0, 'nothing stored');

  const slowHeaders = await exchange(port, (socket) => socket.write('GET /tags HTTP/1.1\r\nHost: x\r\n'));
  assertJsonError(t, slowHeaders, 408, 'request_timeout');
  t.ok(slowHeaders.closed);
  t.ok(slowHeaders.ms < ANSWER_BOUND_MS, `answered after ${slowHeaders.ms.toFixed(0)} ms`);
});

t.test('413 for a 10 MB chunked body, answered before the connection closes', async (t) => {
  const { ctx, port } = await shared;
  const user = persona('chunked');
  await ctx.register(user);
  const { authorization } = await ctx.auth(user);
  const answer = await exchange(port, (socket) => {
    socket.write(
      `POST /tags HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    const pump = () => {
      while (sent < 10 * 1024 * 1024 && !socket.destroyed) {
        sent += chunk.length;
        socket.write(`${chunk.length.toString(16)}\r\n`);
        socket.write(chunk);
        if (!socket.write('\r\n')) {
          socket.once('drain', pump);
          return;
        }
      }
      if (!socket.destroyed) socket.write('0\r\n\r\n');
    };
    pump();
  });
  assertJsonError(t, answer, 413, 'body_too_large');
  t.ok(answer.closed, 'the connection is closed');
  t.equal(await ctx.db.prisma.tag.count(), 0, 'nothing stored');
});

t.test('431 for headers past the limit, 400 for bytes that are not HTTP: both in the JSON error body', async (t) => {
  const { port } = await shared;
  const huge = await exchange(port, (socket) => socket.write(`GET /tags?${'a=b&'.repeat(80_000)} HTTP/1.1\r\nHost: x\r\n\r\n`));
  assertJsonError(t, huge, 431, 'headers_too_large');
  t.ok(huge.closed);
  const garbage = await exchange(port, (socket) => socket.write('GARBAGE\r\n\r\n'));
  assertJsonError(t, garbage, 400, 'bad_request');
  t.ok(garbage.closed);
});

t.test('a body of 300 000 values within the size limit is refused in well under a second of work', async (t) => {
  const { ctx, port } = await shared;
  const user = persona('many-values');
  await ctx.register(user);
  const { authorization } = await ctx.auth(user);
  const body = JSON.stringify({ name: Array.from({ length: 300_000 }, () => 1), address: 'x' });
  t.ok(body.length < 1024 * 1024, 'under BODY_LIMIT');
  const started = performance.now();
  const answer = await exchange(
    port,
    (socket) =>
      socket.write(
        request('POST', '/sites', { Authorization: authorization, 'Content-Type': 'application/json', Connection: 'close' }, body),
      ),
    false,
  );
  const ms = performance.now() - started;
  assertJsonError(t, answer, 422, 'invalid_request');
  // Generous for a loaded machine; the real figure is tens of milliseconds.
  t.ok(ms < 5000, `refused in ${ms.toFixed(0)} ms`);
});

t.test('a query string the spec allows is never a 431: 20 filters of 1 024 non-ASCII characters', async (t) => {
  const { port } = await shared;
  const filter = `${'é'.repeat(1015)} == 1`;
  t.equal(filter.length, 1020);
  const query = Array.from({ length: 20 }, () => `filters=${encodeURIComponent(filter)}`).join('&');
  const answer = await exchange(port, (socket) => socket.write(request('GET', `/results?${query}`, { Connection: 'close' })), false);
  t.equal(answer.status, 200, answer.body.slice(0, 200));
  t.match(JSON.parse(answer.body), { total: 0, items: [] });
});

t.test('text that is not UTF-8 is refused, naming the problem, and nothing is stored', async (t) => {
  const { ctx, port } = await shared;
  const user = persona('encodings');
  await ctx.register(user);
  const { authorization } = await ctx.auth(user);
  const post = (body: Buffer | string, contentType: string) =>
    exchange(
      port,
      (socket) =>
        socket.write(request('POST', '/tags', { Authorization: authorization, 'Content-Type': contentType, Connection: 'close' }, body)),
      false,
    );

  const latin1 = await post(Buffer.from('{"name":"caf\xe9"}', 'latin1'), 'application/json; charset=latin1');
  t.match(assertJsonError(t, latin1, 415, 'unsupported_media_type').message, /UTF-8.*latin1/);
  const utf16 = await post(Buffer.from('{"name":"x"}', 'utf16le'), 'application/json; charset=utf-16');
  assertJsonError(t, utf16, 415, 'unsupported_media_type');
  const invalidBytes = await post(Buffer.from('{"name":"caf\xe9"}', 'latin1'), 'application/json');
  t.match(assertJsonError(t, invalidBytes, 400, 'invalid_encoding').message, /not valid UTF-8/);
  const encodedSurrogate = await post(
    Buffer.from([...Buffer.from('{"name":"a'), 0xed, 0xa0, 0x80, ...Buffer.from('"}')]),
    'application/json',
  );
  assertJsonError(t, encodedSurrogate, 400, 'invalid_encoding');
  const escapedSurrogate = await post('{"name":"a\\ud800b"}', 'application/json');
  t.match(assertJsonError(t, escapedSurrogate, 422, 'invalid_request').errors, { 'body.name': /lone surrogate/ });
  const query = await exchange(port, (socket) => socket.write(request('GET', '/tags?name=%FF%FE', { Connection: 'close' })), false);
  t.match(assertJsonError(t, query, 400, 'invalid_encoding').message, /query string/);
  const surrogateInQuery = await exchange(
    port,
    (socket) => socket.write(request('GET', '/tags?name=%ED%A0%80', { Connection: 'close' })),
    false,
  );
  assertJsonError(t, surrogateInQuery, 400, 'invalid_encoding');
  t.equal(await ctx.db.prisma.tag.count(), 0, 'nothing stored');

  const fine = await post('{"name":"café ☕ 𝄞"}', 'application/json; charset=UTF-8');
  t.equal(fine.status, 201, fine.body);
  t.equal(JSON.parse(fine.body).name, 'café ☕ 𝄞', 'UTF-8 stored as sent');
  const literalPercent = await exchange(port, (socket) => socket.write(request('GET', '/tags?name=100%', { Connection: 'close' })), false);
  t.equal(literalPercent.status, 200, 'a % without two hex digits is a literal %, as before');
});

t.test('503 with Retry-After for a request that arrives while the service stops', async (t) => {
  const { ctx, port } = await started(t);
  const user = persona('stopping');
  await ctx.register(user);
  const { authorization } = await ctx.auth(user);
  // An upload is in flight (its body incomplete) when closing begins; a second
  // request is pipelined behind it on the same connection.
  const upload = partialUpload(port, authorization, 'during-close');
  await new Promise((resolve) => setTimeout(resolve, 200));
  const closing = ctx.app.close();
  await new Promise((resolve) => setTimeout(resolve, 100));
  upload.finish('GET /tags HTTP/1.1\r\nHost: x\r\n\r\n');
  await Promise.race([upload.closed, new Promise((resolve) => setTimeout(resolve, ANSWER_BOUND_MS))]);
  upload.socket.destroy();
  await closing;
  const raw = upload.received();
  const [first = '', second = ''] = raw.split(/(?=HTTP\/1\.1 \d{3} )/);
  t.match(first, /^HTTP\/1\.1 201 /, 'the upload in flight completes');
  t.equal(await ctx.db.prisma.tag.count({ where: { name: 'during-close' } }), 1);
  t.match(second, /^HTTP\/1\.1 503 /, `what came after it is refused: ${second.slice(0, 200)}`);
  t.match(second, /\r\nretry-after: 1\r\n/i);
  t.match(second, /\r\nconnection: close\r\n/i);
  const json = JSON.parse(second.slice(second.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
  t.match(json, { code: 503, error_code: 'unavailable', message: /stopping/ });
});

t.test('overload: past MAX_CONCURRENT_REQUESTS requests wait in a bounded queue; past it, an immediate 503 with Retry-After', async (t) => {
  const { ctx, port } = await started(t, { MAX_CONCURRENT_REQUESTS: '1', MAX_QUEUED_REQUESTS: '1' });
  const user = persona('overload');
  await ctx.register(user);
  const { authorization } = await ctx.auth(user);

  // A holds the one turn: its body is not all there yet.
  const holder = partialUpload(port, authorization, 'held-turn', { Connection: 'close' });
  await new Promise((resolve) => setTimeout(resolve, 300));
  // B waits in the queue; C finds it full.
  const queued = exchange(port, (socket) => socket.write(request('GET', '/tags', { Connection: 'close' })), false);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const askedAt = performance.now();
  const refused = await exchange(port, (socket) => socket.write(request('GET', '/tags', { Connection: 'close' })), false);
  t.comment(`refused after ${(performance.now() - askedAt).toFixed(0)} ms`);
  t.match(assertJsonError(t, refused, 503, 'unavailable').message, /busy; try again/);
  t.equal(refused.headers['retry-after'], '1');

  holder.finish();
  const answered = await queued;
  t.equal(answered.status, 200, 'the queued request is answered once the turn is free');
  await holder.closed;
  t.match(holder.received(), /^HTTP\/1\.1 201 /, 'the request holding the turn completes');
  const after = await exchange(port, (socket) => socket.write(request('GET', '/tags', { Connection: 'close' })), false);
  t.equal(after.status, 200, 'and turns are free again');

  // A client that gives up while waiting leaves the queue: the next one takes its place.
  const holder2 = partialUpload(port, authorization, 'held-again', { Connection: 'close' });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const quitter = net.connect(port, '127.0.0.1');
  quitter.on('error', () => {});
  quitter.write(request('GET', '/tags', {}));
  await new Promise((resolve) => setTimeout(resolve, 300));
  quitter.destroy();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const next = exchange(port, (socket) => socket.write(request('GET', '/tags', { Connection: 'close' })), false);
  await new Promise((resolve) => setTimeout(resolve, 300));
  holder2.socket.destroy();
  t.equal((await next).status, 200, 'queued in the place the quitter left, then answered');
});

t.test('overload: a request whose turn comes after MAX_QUEUE_WAIT_MS is refused with a 503, not worked on', async (t) => {
  const { ctx, port } = await started(t, { MAX_CONCURRENT_REQUESTS: '1', MAX_QUEUED_REQUESTS: '10', MAX_QUEUE_WAIT_MS: '200' });
  const user = persona('stale-wait');
  await ctx.register(user);
  const { authorization } = await ctx.auth(user);
  const holder = partialUpload(port, authorization, 'held-long', { Connection: 'close' });
  await new Promise((resolve) => setTimeout(resolve, 300));
  // This one waits behind the holder longer than it may.
  const stale = exchange(
    port,
    (socket) =>
      socket.write(
        request(
          'POST',
          '/tags',
          { Connection: 'close', Authorization: authorization, 'Content-Type': 'application/json' },
          '{"name":"stale-waiter"}',
        ),
      ),
    false,
  );
  await new Promise((resolve) => setTimeout(resolve, 600));
  holder.finish();
  const refused = await stale;
  t.match(assertJsonError(t, refused, 503, 'unavailable').message, /busy; try again/);
  t.equal(refused.headers['retry-after'], '1');
  t.equal(await ctx.db.prisma.tag.count({ where: { name: 'stale-waiter' } }), 0, 'not worked on');
  await holder.closed;
  t.match(holder.received(), /^HTTP\/1\.1 201 /, 'the request holding the turn completes');
  const fresh = await exchange(port, (socket) => socket.write(request('GET', '/tags', { Connection: 'close' })), false);
  t.equal(fresh.status, 200, 'a request that finds a free turn is answered');
});
