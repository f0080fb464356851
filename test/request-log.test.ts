// One log line per request (src/http/request-log.ts): the operationId, the
// status, the duration, the caller's subject (never the token) and the
// request id; a slow request is a warning marked `slow`.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import { createTestContext, type Test } from './helpers/app.js';

interface Line {
  level: number;
  msg: string;
  reqId?: string;
  operation?: string;
  method?: string;
  status?: number;
  ms?: number;
  sub?: string;
  slow?: boolean;
}

async function service(t: Test, env: Record<string, string> = {}) {
  const lines: Line[] = [];
  const text: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text.push(chunk.toString());
      lines.push(JSON.parse(chunk.toString()) as Line);
      done();
    },
  });
  const ctx = await createTestContext(t, 'pglite', env, pino({ level: 'info' }, stream));
  if (!ctx) throw new Error('PGlite is always available');
  const requests = () => lines.filter((line) => line.msg === 'request');
  return { ...ctx, requests, text: () => text.join('') };
}

t.test('one line per request: operationId, status, duration, request id; the subject, never the token', async (t) => {
  const { app, token: tokenOf, requests, text } = await service(t, { SLOW_REQUEST_MS: '60000' });
  const token = await tokenOf({ sub: 'logged-user', email: 'logged@example.org' });
  const registered = await app.inject({ method: 'POST', url: '/users:register', headers: { authorization: `Bearer ${token}` } });
  t.equal(registered.statusCode, 201);
  const listed = await app.inject({ url: '/tags?per_page=5' });
  const missing = await app.inject({ url: '/no/such/path' });
  t.equal(missing.statusCode, 404);

  const [register, list, unknown] = requests();
  t.match(register, { level: 30, operation: 'RegisterSelf', method: 'POST', status: 201, sub: 'logged-user' });
  t.equal(register?.reqId, registered.headers['x-request-id'], 'the request id the client got');
  t.match(list, { operation: 'ListTags', status: 200 });
  t.equal(list?.reqId, listed.headers['x-request-id']);
  t.notOk(list && 'sub' in list, 'no subject for an anonymous call');
  t.match(unknown, { operation: 'no route', status: 404 });
  t.type(list?.ms, 'number');
  t.equal(requests().length, 3, 'one line each, not two');
  t.notMatch(text(), token, 'the token is never logged');
  t.notMatch(text(), /tags\?per_page/, 'never the raw URL');
});

t.test('a request slower than SLOW_REQUEST_MS is a warning marked slow', async (t) => {
  const { app, requests } = await service(t, { SLOW_REQUEST_MS: '1' });
  await app.inject({ url: '/results' });
  t.match(requests().at(-1), { level: 40, operation: 'ListResults', slow: true });
});
