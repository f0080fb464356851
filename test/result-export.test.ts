// GET /results:export on PGlite and on PostgreSQL: every matching result as
// CSV (RFC 4180: quoting, CRLF, one header, JSON columns) or NDJSON (each
// line the Result that GET /results/{id} answers), chosen by `format` or
// Accept; filters and order as lists; a set larger than one batch; a client
// that disconnects stops the query; at most MAX_EXPORTS at once (503); 422s.
import http from 'node:http';
import t from 'tap';
import { CURSOR_APPLICATION_NAME } from '../src/db/client.js';
import { MAX_EXPORTS } from '../src/results/result-export.js';
import { adminPersona, eachDatabase, json, persona, type TestContext } from './helpers/app.js';
import { assertError } from './helpers/assertions.js';
import type { Result } from './helpers/contract.js';
import { fixtures, uniqueDashed } from './helpers/fixtures.js';

/** RFC 4180 records of `text` (quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i += 1;
    } else field += c;
  }
  return records;
}

interface OpenDownload {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The first chunk of a 200, or the whole body of anything else. */
  body: string;
  /** Hangs up, as a client that goes away. */
  hangUp(): void;
}

/** GET `url` uncompressed and stop reading after the first chunk, as a slow or departing client would. */
function openDownload(url: string): Promise<OpenDownload> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, headers: { 'accept-encoding': 'identity' } }, (response) => {
      const answer = (body: string) => ({
        status: response.statusCode ?? 0,
        headers: response.headers,
        body,
        hangUp: () => request.destroy(),
      });
      if (response.statusCode !== 200) {
        let body = '';
        response.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        response.on('end', () => resolve(answer(body)));
        return;
      }
      response.once('data', (chunk: Buffer) => {
        response.pause();
        resolve(answer(chunk.toString()));
      });
    });
    request.on('error', reject);
  });
}

eachDatabase(t, async (t, ctx: TestContext) => {
  const { app } = ctx;
  const admin = adminPersona('export-admin');
  const owner = persona('export-owner');
  const claimer = persona('export-claimer');
  await ctx.register(admin);
  await ctx.register(owner);
  await ctx.register(claimer);
  const fx = fixtures(ctx, admin, owner);

  const w = await fx.world({}, { siteName: `Site, "${uniqueDashed('q')}"`, flavorName: 'f1' });
  const [tagB, tagA] = [await fx.tag(`b-${uniqueDashed('t')}`), await fx.tag(`a-${uniqueDashed('t')}`)];
  const bodies = [
    { score: 3, note: 'plain', ok: true, nested: { n: 1 } },
    { score: 1.5, note: 'comma, "quote"\r\nand a line break', ok: false, nested: [1, 2] },
    { score: 'n/a', note: null },
    { other: 1 },
  ];
  const uploaded: Result[] = [];
  for (const [i, body] of bodies.entries()) {
    uploaded.push(await fx.upload(w, body, { execution: `2024-02-0${i + 1}T10:00:00Z`, tags: i === 0 ? [tagB.id, tagA.id] : [] }));
  }
  const hidden = await fx.upload(w, { score: 99 }, { execution: '2024-02-09T10:00:00Z' });
  const claim = await app.inject({
    method: 'POST',
    url: `/results/${hidden.id}:claim`,
    headers: await ctx.auth(claimer),
    payload: { message: 'wrong' },
  });
  t.equal(claim.statusCode, 201, 'a claimed result is hidden');
  const scoped = `benchmark_id=${w.benchmark.id}`;

  t.test('200 CSV: RFC 4180, one header, fixed and JSON columns, wrong types empty', async (t) => {
    const response = await app.inject({ url: `/results:export?${scoped}&columns=score&columns=note&columns=ok&columns=nested` });
    t.equal(response.statusCode, 200);
    t.match(response.headers['content-type'], /^text\/csv/);
    t.match(response.headers['content-disposition'], /^attachment; filename="results-[\dT-]+Z\.csv"$/);
    t.ok(response.body.endsWith('\r\n'), 'CRLF after the last record');
    const [header, ...rows] = parseCsv(response.body);
    t.same(header, ['id', 'execution_datetime', 'upload_datetime', 'benchmark', 'site', 'flavor', 'tags', 'score', 'note', 'ok', 'nested']);
    t.same(
      rows.map((row) => row[0]),
      uploaded.map((result) => result.id),
      'every visible result, oldest execution first, not the claimed one',
    );
    const [first, second, third, fourth] = rows;
    t.same(first, [
      uploaded[0]?.id,
      '2024-02-01T10:00:00.000Z',
      uploaded[0]?.upload_datetime,
      `${w.benchmark.docker_image}:${w.benchmark.docker_tag}`,
      w.site.name,
      'f1',
      [tagA.name, tagB.name].join(';'),
      '3',
      'plain',
      'true',
      '',
    ]);
    t.same(
      second?.slice(5),
      ['f1', '', '1.5', 'comma, "quote"\r\nand a line break', 'false', ''],
      'quotes, commas and line breaks survive',
    );
    t.same(third?.slice(7), ['n/a', '', '', ''], 'a string is a string; null is empty');
    t.same(fourth?.slice(7), ['', '', '', ''], 'missing paths are empty');
    t.match(response.body, /"Site, ""/, 'the site name with a comma and quotes is quoted');
  });

  t.test('200 NDJSON: each line is the Result of GET /results/{id}, by format or by Accept', async (t) => {
    for (const [label, url, headers] of [
      ['format=ndjson', `/results:export?${scoped}&format=ndjson&sort_by=-execution_datetime`, {}],
      ['Accept', `/results:export?${scoped}&sort_by=-execution_datetime`, { accept: 'application/x-ndjson' }],
    ] as const) {
      const response = await app.inject({ url, headers });
      t.equal(response.statusCode, 200, label);
      t.match(response.headers['content-type'], /^application\/x-ndjson/, label);
      t.match(response.headers['content-disposition'], /\.ndjson"$/, label);
      const lines = response.body.split('\n');
      t.equal(lines.pop(), '', `${label}: every line ends with \\n`);
      const expected = [];
      for (const result of [...uploaded].reverse()) expected.push(json<Result>(await app.inject({ url: `/results/${result.id}` })));
      t.same(
        lines.map((line) => JSON.parse(line)),
        expected,
        `${label}: newest first, each as GET /results/{id} answers it`,
      );
    }
    const csv = await app.inject({ url: `/results:export?${scoped}`, headers: { accept: 'application/json' } });
    t.match(csv.headers['content-type'], /^text\/csv/, 'CSV when Accept names neither');
  });

  t.test('200: filters and JSON sorts as in lists; nothing matching is a header alone', async (t) => {
    const filter = encodeURIComponent('score > 2');
    const filtered = await app.inject({ url: `/results:export?${scoped}&filters=${filter}&format=ndjson` });
    t.same(
      filtered.body
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as Result).id),
      [uploaded[0]?.id],
    );
    const sorted = parseCsv((await app.inject({ url: `/results:export?${scoped}&sort_by=%2Bjson.score` })).body).slice(1);
    t.same(
      sorted.slice(0, 2).map((row) => row[0]),
      [uploaded[1]?.id, uploaded[0]?.id],
      'numbers first, ascending',
    );
    const none = await app.inject({ url: '/results:export?filters=no.such%20%3D%3D%201' });
    t.equal(none.statusCode, 200);
    t.equal(none.body, 'id,execution_datetime,upload_datetime,benchmark,site,flavor,tags\r\n');
    const empty = await app.inject({ url: '/results:export?format=ndjson&filters=no.such%20%3D%3D%201' });
    t.equal(empty.body, '', 'NDJSON of nothing is empty');
  });

  const big = await fx.world({}, { flavorName: 'big' });
  await ctx.db.prisma.$executeRaw`
    INSERT INTO results (id, json, execution_datetime, benchmark_id, site_id, flavor_id, uploader_sub, uploader_iss)
    SELECT gen_random_uuid(), jsonb_build_object('i', i), now(), ${big.benchmark.id}::uuid, ${big.site.id}::uuid,
           ${big.flavor.id}::uuid, ${owner.sub}, ${ctx.oidc.issuer}
    FROM generate_series(1, 1600) AS i`;

  t.test('200: more results than one batch, all of them, in order', async (t) => {
    const response = await app.inject({ url: `/results:export?benchmark_id=${big.benchmark.id}&columns=i&sort_by=-json.i` });
    const rows = parseCsv(response.body).slice(1);
    t.equal(rows.length, 1600);
    t.same(
      rows.map((row) => Number(row[7])),
      Array.from({ length: 1600 }, (_, i) => 1600 - i),
      'every value once, in order',
    );
  });

  // Far more than socket buffers hold (~13 MB of NDJSON, incompressible): an export that nobody reads stays open.
  const huge = await fx.world({}, { flavorName: 'huge' });
  await ctx.db.prisma.$executeRaw`
    INSERT INTO results (id, json, execution_datetime, benchmark_id, site_id, flavor_id, uploader_sub, uploader_iss)
    SELECT gen_random_uuid(), jsonb_build_object('i', i, 'padding', (SELECT string_agg(md5(i::text || k::text), '') FROM generate_series(1, 16) AS k)), now(), ${huge.benchmark.id}::uuid,
           ${huge.site.id}::uuid, ${huge.flavor.id}::uuid, ${owner.sub}, ${ctx.oidc.issuer}
    FROM generate_series(1, 20000) AS i`;
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  /** Cursors (PGlite) or cursor connections (PostgreSQL) open now. */
  const openCursors = async (): Promise<number> => {
    const [row] =
      ctx.db.kind === 'pglite'
        ? await ctx.db.prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_cursors WHERE name LIKE 'rows\_%'`
        : await ctx.db.prisma.$queryRaw<{ n: number }[]>`
            SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = ${CURSOR_APPLICATION_NAME}`;
    return row?.n ?? -1;
  };
  const settle = async (until: () => Promise<boolean>): Promise<boolean> => {
    for (let i = 0; i < 100; i += 1) {
      if (await until()) return true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return false;
  };

  t.test('a client that disconnects stops the query and frees its place', async (t) => {
    const download = await openDownload(`${address}/results:export?benchmark_id=${huge.benchmark.id}&format=ndjson`);
    t.equal(download.status, 200);
    t.ok((await openCursors()) >= 1, 'a cursor is open while the client reads');
    download.hangUp();
    t.ok(await settle(async () => (await openCursors()) === 0), 'the cursor is closed once the client is gone');
  });

  t.test(`503: more than ${MAX_EXPORTS} exports at once; 200 again once one ends`, async (t) => {
    const url = `${address}/results:export?benchmark_id=${huge.benchmark.id}&format=ndjson`;
    const held: OpenDownload[] = [];
    for (let i = 0; i < MAX_EXPORTS; i += 1) held.push(await openDownload(url));
    t.same(
      held.map((download) => download.status),
      Array(MAX_EXPORTS).fill(200),
      'four exports stream, none read',
    );
    const refused = await openDownload(url);
    t.equal(refused.status, 503);
    t.equal(refused.headers['retry-after'], '1');
    t.match(JSON.parse(refused.body), { code: 503, error_code: 'unavailable' });
    held[0]?.hangUp();
    t.ok(
      await settle(async () => {
        const again = await openDownload(`${address}/results:export?benchmark_id=${huge.benchmark.id}&filters=i%20%3D%3D%201`);
        again.hangUp();
        return again.status === 200;
      }),
      'a place is free again once a client hung up',
    );
    for (const download of held) download.hangUp();
    t.ok(await settle(async () => (await openCursors()) === 0), 'every cursor closed');
  });

  t.test('422: a malformed column, format, filter or sort', async (t) => {
    for (const [query, key] of [
      ['columns=a..b', 'query.columns'],
      ['format=xlsx', 'query.format'],
      [`filters=${encodeURIComponent('x >> 1')}`, 'query.filters'],
      ['sort_by=%2Bnope', 'query.sort_by'],
      ['page=2', 'query.page'],
    ] as const) {
      const body = assertError(t, await app.inject({ url: `/results:export?${query}` }), 422);
      t.ok(body.errors && key in body.errors, `${query}: ${JSON.stringify(body.errors)}`);
    }
  });
});
