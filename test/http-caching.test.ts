// HTTP caching and compression as clients expect them (src/http/http-caching.ts,
// src/http/compression.ts): a weak ETag on every successful GET, 304 for a
// current If-None-Match, Cache-Control that keeps token-dependent answers out
// of shared caches, and brotli or gzip by Accept-Encoding — the same JSON
// once decompressed.
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import t from 'tap';
import { JsonText } from '../src/http/json-text.js';
import { adminPersona, eachDatabase, persona } from './helpers/app.js';
import { fixtures } from './helpers/fixtures.js';

eachDatabase(t, async (t, ctx) => {
  const { app } = ctx;
  const admin = adminPersona();
  const owner = persona('caching');
  await ctx.register(admin);
  await ctx.register(owner);
  const f = fixtures(ctx, admin, owner);
  // A schema large enough that the benchmark's own answer is worth compressing.
  const w = await f.world({ description: 'a schema to compress '.repeat(100) }, { tags: 1 });
  for (let i = 0; i < 20; i += 1) await f.upload(w, { n: i, padding: 'x'.repeat(100) });
  const list = `/results?benchmark_id=${w.benchmark.id}`;

  t.test('200: a weak ETag, Cache-Control no-cache, Vary on the token and the encoding', async (t) => {
    const response = await app.inject({ url: list });
    t.equal(response.statusCode, 200);
    t.match(response.headers.etag, /^W\/"[A-Za-z0-9_-]+"$/);
    t.equal(response.headers['cache-control'], 'no-cache');
    t.match(response.headers.vary, /Authorization/);
    t.match(response.headers.vary, /Accept-Encoding/i);
    t.equal((await app.inject({ url: list })).headers.etag, response.headers.etag, 'the same JSON, the same tag');
  });

  t.test('304 for a current If-None-Match, alone, in a list, strong or weak, or *', async (t) => {
    const { etag } = (await app.inject({ url: list })).headers;
    const tag = String(etag);
    for (const header of [tag, `"other", ${tag}`, tag.replace(/^W\//, ''), '*']) {
      const response = await app.inject({ url: list, headers: { 'if-none-match': header } });
      t.equal(response.statusCode, 304, header);
      t.equal(response.body, '', 'no body');
      t.equal(response.headers.etag, etag);
      t.equal(response.headers['cache-control'], 'no-cache');
    }
    const other = await app.inject({ url: list, headers: { 'if-none-match': 'W/"stale"' } });
    t.equal(other.statusCode, 200, 'another tag: the page');
  });

  t.test('200 with a new tag once a write changed the page', async (t) => {
    const before = (await app.inject({ url: list })).headers.etag;
    await f.upload(w, { n: 99 });
    const after = await app.inject({ url: list, headers: { 'if-none-match': String(before) } });
    t.equal(after.statusCode, 200);
    t.not(after.headers.etag, before);
  });

  t.test('304 on catalog answers too, tagged from their JSON', async (t) => {
    const url = `/benchmarks/${w.benchmark.id}`;
    const first = await app.inject({ url });
    t.equal(first.statusCode, 200);
    const again = await app.inject({ url, headers: { 'if-none-match': String(first.headers.etag) } });
    t.equal(again.statusCode, 304);
    t.equal(again.body, '');
  });

  t.test('an answer to a request with a token is private', async (t) => {
    const response = await app.inject({ url: '/users/self/results', headers: await ctx.auth(owner) });
    t.equal(response.statusCode, 200);
    t.equal(response.headers['cache-control'], 'private, no-cache');
  });

  t.test('no tag, and no 304, on writes and errors', async (t) => {
    const created = await app.inject({
      method: 'POST',
      url: '/tags',
      headers: { ...(await ctx.auth(owner)), 'if-none-match': '*' },
      payload: { name: `caching-${Date.now()}` },
    });
    t.equal(created.statusCode, 201);
    t.equal(created.headers.etag, undefined);
    const missing = await app.inject({ url: '/results/00000000-0000-4000-8000-000000000000', headers: { 'if-none-match': '*' } });
    t.equal(missing.statusCode, 404);
    t.equal(missing.headers.etag, undefined);
  });

  t.test('br and gzip by Accept-Encoding, the same JSON once decompressed', async (t) => {
    const plain = await app.inject({ url: list });
    t.equal(plain.headers['content-encoding'], undefined, 'none asked: none given');
    for (const [accept, encoding, decompress] of [
      ['gzip, deflate, br', 'br', brotliDecompressSync],
      ['gzip, deflate', 'gzip', gunzipSync],
      ['br;q=0.5, gzip', 'gzip', gunzipSync],
    ] as const) {
      const response = await app.inject({ url: list, headers: { 'accept-encoding': accept } });
      t.equal(response.headers['content-encoding'], encoding, accept);
      t.ok(
        response.rawPayload.length < plain.rawPayload.length / 4,
        `${encoding}: ${response.rawPayload.length} of ${plain.rawPayload.length} bytes`,
      );
      t.same(JSON.parse(decompress(response.rawPayload).toString()), JSON.parse(plain.body));
      t.equal(response.headers.etag, plain.headers.etag, 'the same tag in every encoding (weak)');
    }
    const identity = await app.inject({ url: list, headers: { 'accept-encoding': 'identity' } });
    t.equal(identity.headers['content-encoding'], undefined);

    const url = `/benchmarks/${w.benchmark.id}`;
    const benchmark = await app.inject({ url, headers: { 'accept-encoding': 'gzip' } });
    t.equal(benchmark.headers['content-encoding'], 'gzip', 'serialized answers too');
    t.same(JSON.parse(gunzipSync(benchmark.rawPayload).toString()), JSON.parse((await app.inject({ url })).body));
  });

  t.test('small answers are not compressed', async (t) => {
    const response = await app.inject({ url: `/tags/${w.tags[0]!.id}`, headers: { 'accept-encoding': 'br' } });
    t.equal(response.statusCode, 200);
    t.equal(response.headers['content-encoding'], undefined);
  });

  t.test('a compressed upload body is refused, not inflated', async (t) => {
    const response = await app.inject({
      method: 'POST',
      url: f.uploadUrl(w),
      headers: { ...(await ctx.auth(owner)), 'content-type': 'application/json', 'content-encoding': 'gzip' },
      payload: Buffer.from([0x1f, 0x8b, 0x08, 0x00]),
    });
    t.ok(response.statusCode >= 400 && response.statusCode < 500, `${response.statusCode}`);
    t.equal(JSON.parse(response.body).error_code !== undefined, true, 'the API error body');
  });
});

t.test('JsonText compresses and tags its bytes once', async (t) => {
  const text = new JsonText(JSON.stringify({ items: Array.from({ length: 500 }, (_, i) => ({ i })) }));
  const [first, second] = await Promise.all([text.encoded('br'), text.encoded('br')]);
  t.equal(first, second, 'one compression for every ask');
  t.equal(await text.encoded('br'), first);
  t.not(await text.encoded('gzip'), first, 'one per encoding');
  t.equal(text.etag, text.etag);
});
