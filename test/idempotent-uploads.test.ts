// POST /results with an Idempotency-Key (src/results/upload-keys.ts): a client
// that retries an upload whose answer it never got stores the result once.
// The retry is answered 201 with the result stored the first time; the same
// key with a different request is a 422; keys belong to their user.
import t from 'tap';
import { adminPersona, eachDatabase, json, persona } from './helpers/app.js';
import { assertError } from './helpers/assertions.js';
import type { Result } from './helpers/contract.js';
import { fixtures } from './helpers/fixtures.js';

eachDatabase(t, async (t, ctx) => {
  const admin = adminPersona('idempotency-admin');
  const owner = persona('idempotency-owner');
  const other = persona('idempotency-other');
  for (const who of [admin, owner, other]) await ctx.register(who);
  const { world, uploadRaw } = fixtures(ctx, admin, owner);
  const stored = (benchmarkId: string) => ctx.db.prisma.result.count({ where: { benchmark_id: benchmarkId } });
  let keyCount = 0;
  const newKey = () => `key-${process.pid}-${++keyCount}`;

  t.test('201 twice for the same upload and key: stored once, the same result in both answers', async (t) => {
    const w = await world({ type: 'object', properties: { score: { type: 'number' } } }, { tags: 2 });
    const tags = w.tags.map((tag) => tag.id);
    const headers = { 'idempotency-key': newKey() };
    const first = await uploadRaw(w, { score: 1.5 }, { tags, headers });
    t.equal(first.statusCode, 201, first.body);
    const retry = await uploadRaw(w, { score: 1.5 }, { tags: [...tags].reverse(), headers });
    t.equal(retry.statusCode, 201, retry.body);
    t.same(json<Result>(retry), json<Result>(first), 'the stored result, as first answered (tags in any order name the same upload)');
    t.equal(await stored(w.benchmark.id), 1);
    const read = await ctx.app.inject({ url: `/results/${json<Result>(first).id}` });
    t.same(json<Result>(read), json<Result>(first));
  });

  t.test('201 for every one of 20 identical uploads sent at once with one key: stored once', async (t) => {
    const w = await world();
    const headers = { 'idempotency-key': newKey() };
    const answers = await Promise.all(Array.from({ length: 20 }, () => uploadRaw(w, { run: 1 }, { headers })));
    t.same(
      answers.map((answer) => answer.statusCode),
      Array(20).fill(201),
    );
    t.equal(new Set(answers.map((answer) => json<Result>(answer).id)).size, 1, 'one id in every answer');
    t.equal(await stored(w.benchmark.id), 1);
  });

  t.test('201 for uploads without a key: each one is stored, as always', async (t) => {
    const w = await world();
    t.equal((await uploadRaw(w, { run: 1 })).statusCode, 201);
    t.equal((await uploadRaw(w, { run: 1 })).statusCode, 201);
    t.equal(await stored(w.benchmark.id), 2);
  });

  t.test('201 for the same key sent by another user: keys are per user', async (t) => {
    const w = await world();
    const headers = { 'idempotency-key': newKey() };
    const mine = json<Result>(await uploadRaw(w, { run: 1 }, { headers }));
    const theirs = await uploadRaw(w, { run: 1 }, { headers }, other);
    t.equal(theirs.statusCode, 201);
    t.not(json<Result>(theirs).id, mine.id);
    t.equal(await stored(w.benchmark.id), 2);
  });

  t.test('201 with a new result once the result of a key is deleted', async (t) => {
    const w = await world();
    const headers = { 'idempotency-key': newKey() };
    const first = json<Result>(await uploadRaw(w, { run: 1 }, { headers }));
    const deleted = await ctx.app.inject({ method: 'DELETE', url: `/results/${first.id}`, headers: await ctx.auth(admin) });
    t.equal(deleted.statusCode, 204);
    const again = await uploadRaw(w, { run: 1 }, { headers });
    t.equal(again.statusCode, 201);
    t.not(json<Result>(again).id, first.id);
    t.equal(await stored(w.benchmark.id), 1);
  });

  t.test('201 with the stored result for a retry after the schema changed: the upload was accepted once', async (t) => {
    const w = await world();
    const headers = { 'idempotency-key': newKey() };
    const first = json<Result>(await uploadRaw(w, { run: 1 }, { headers }));
    await ctx.db.prisma.benchmark.update({ where: { id: w.benchmark.id }, data: { json_schema: { required: ['other'] } } });
    const retry = await uploadRaw(w, { run: 1 }, { headers });
    t.equal(retry.statusCode, 201);
    t.equal(json<Result>(retry).id, first.id);
  });

  t.test('422 for the same key with another body, execution date, flavor or tags; nothing more stored', async (t) => {
    const w = await world({}, { tags: 1 });
    const key = newKey();
    const headers = { 'idempotency-key': key };
    t.equal((await uploadRaw(w, { run: 1 }, { headers })).statusCode, 201);
    const changes = [
      { body: { run: 2 }, options: {} },
      { body: { run: 1 }, options: { execution: '2022-01-01T10:00:01Z' } },
      { body: { run: 1 }, options: { tags: [w.tags[0]?.id ?? ''] } },
    ];
    for (const { body, options } of changes) {
      const error = assertError(t, await uploadRaw(w, body, { ...options, headers }), 422);
      t.equal(error.error_code, 'invalid_request');
      t.same(error.errors, { 'header.idempotency-key': 'already used for a different request' });
    }
    t.equal(await stored(w.benchmark.id), 1);
  });

  t.test('422 for a malformed key: empty, longer than 255 characters, or not visible ASCII', async (t) => {
    const w = await world();
    for (const key of ['', 'k'.repeat(256), 'two words', 'clé']) {
      const error = assertError(t, await uploadRaw(w, { run: 1 }, { headers: { 'idempotency-key': key } }), 422);
      t.same(Object.keys(error.errors ?? {}), ['header.idempotency-key'], JSON.stringify(key));
    }
    t.equal(await stored(w.benchmark.id), 0);
  });

  t.test('401 and 404 come before the key is looked at', async (t) => {
    const w = await world();
    const headers = { 'idempotency-key': newKey() };
    const anonymous = await ctx.app.inject({ method: 'POST', url: `/results?benchmark_id=${w.benchmark.id}`, headers, payload: {} });
    assertError(t, anonymous, 401);
    assertError(t, await uploadRaw(w, { run: 1 }, { headers, benchmark: '00000000-0000-4000-8000-000000000000' }), 404);
    t.equal((await uploadRaw(w, { run: 1 }, { headers })).statusCode, 201, 'the key was not used up by the refused requests');
  });
});
