// Claims against results, on PGlite and on PostgreSQL: filing one
// (POST /results/{id}:claim), the administrators' side (/reports/claims…,
// /reports/submits), the owner's (/results/{id}/claims) and the claimer's
// (/users/self/claims); the hide / approve / reject / restore cycle, two claims
// on one result, and concurrent decisions.
import t from 'tap';
import { adminPersona, eachDatabase, json, persona, type Persona, type Test as Tap, type TestContext } from './helpers/app.js';
import { assertError, assertPageResponse, ids } from './helpers/assertions.js';
import { CLAIM_KEYS, USER_KEYS, type Claim, type Claims, type Results, type Submit } from './helpers/contract.js';
import { fixtures, UNKNOWN_ID, uniqueDashed } from './helpers/fixtures.js';

function assertClaim(t: Tap, body: unknown): Claim {
  const claim = body as Claim;
  t.same(Object.keys(claim).sort(), CLAIM_KEYS, 'exactly the keys of Claim');
  t.match(claim.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  t.equal(claim.resource_type, 'result');
  t.match(claim.upload_datetime, /Z$/);
  t.same(Object.keys(claim.uploader).sort(), USER_KEYS);
  return claim;
}

eachDatabase(t, async (t, ctx: TestContext) => {
  const { app, oidc } = ctx;
  const prisma = ctx.db.prisma;
  const admin = adminPersona('claims-admin');
  const owner = persona('claims-owner');
  const claimer = persona('claims-claimer');
  const second = persona('claims-second');
  const stranger = persona('claims-unregistered');
  for (const who of [admin, owner, claimer, second]) await ctx.register(who);

  // One approved benchmark, site and flavor for the whole suite; each test uploads its own results.
  const fx = fixtures(ctx, admin, owner);
  const world = await fx.world(
    {},
    { image: `${uniqueDashed('claims')}/bench`, siteName: uniqueDashed('claims-site'), address: 'x', flavorName: 'f' },
  );
  const { benchmark } = world;

  async function upload(body: Record<string, unknown> = { n: uniqueDashed('n') }, who: Persona = owner): Promise<string> {
    return (await fx.upload(world, body, { execution: '2022-01-01T00:00:00Z' }, who)).id;
  }

  async function claim(resultId: string, who: Persona = claimer, message = 'looks wrong'): Promise<Claim> {
    return fx.post<Claim>(`/results/${resultId}:claim`, who, { message });
  }

  async function listedIds(): Promise<string[]> {
    const response = await app.inject({ url: `/results?benchmark_id=${benchmark.id}&per_page=100` });
    return ids(json<Results>(response));
  }

  async function searchedIds(): Promise<string[]> {
    const response = await app.inject({ url: `/results:search?terms=${encodeURIComponent(benchmark.docker_image)}&per_page=100` });
    return ids(json<Results>(response));
  }

  async function claimSubmits(): Promise<Submit[]> {
    const response = await app.inject({ url: '/reports/submits?resource_type=claim&per_page=100', headers: await ctx.auth(admin) });
    return assertPageResponse<Submit>(t, response).items;
  }

  const approve = async (id: string, who: Persona = admin) =>
    app.inject({ method: 'POST', url: `/reports/claims/${id}:approve`, headers: await ctx.auth(who) });
  const reject = async (id: string, who: Persona = admin) =>
    app.inject({ method: 'POST', url: `/reports/claims/${id}:reject`, headers: await ctx.auth(who) });

  t.test('ClaimReport POST /results/{result_id}:claim', async (t) => {
    t.test('201 files the claim, opens a submit and hides the result from lists and search', async (t) => {
      const resultId = await upload();
      t.ok((await listedIds()).includes(resultId), 'listed before');
      t.ok((await searchedIds()).includes(resultId), 'found before');
      const response = await app.inject({
        method: 'POST',
        url: `/results/${resultId}:claim`,
        headers: await ctx.auth(claimer),
        payload: { message: 'This is a claim example' },
      });
      t.equal(response.statusCode, 201, response.body);
      const filed = assertClaim(t, json(response));
      t.equal(filed.message, 'This is a claim example');
      t.equal(filed.resource_id, resultId);
      t.equal(filed.status, 'on_review');
      t.equal(filed.uploader.sub, claimer.sub);
      t.equal(filed.uploader.iss, oidc.issuer);
      t.equal(filed.uploader.email, claimer.email);
      t.ok(Math.abs(Date.parse(filed.upload_datetime) - Date.now()) < 60_000);
      const row = await prisma.claim.findUnique({ where: { id: filed.id }, include: { submit: true } });
      t.equal(row?.result_id, resultId);
      t.equal(row?.status, 'on_review');
      t.equal(row?.uploader_sub, claimer.sub);
      t.equal(row?.submit?.resource_type, 'claim', 'a submit of type claim');
      t.equal((await prisma.result.findUnique({ where: { id: resultId } }))?.deleted, true, 'the result is hidden');
      t.notOk((await listedIds()).includes(resultId), 'not listed');
      t.notOk((await searchedIds()).includes(resultId), 'not found by search');
      const read = await app.inject({ url: `/results/${resultId}` });
      t.equal(read.statusCode, 200, 'still readable by id');
      const own = await app.inject({ url: '/users/self/results?per_page=100', headers: await ctx.auth(owner) });
      t.ok(
        json<Results>(own).items.some((item) => item.id === resultId),
        "still in the uploader's own list",
      );
    });
    t.test('201 for a second claim, by anybody, the uploader included', async (t) => {
      const resultId = await upload();
      await claim(resultId);
      const again = await claim(resultId, second, 'me too');
      t.equal(again.status, 'on_review');
      const own = await claim(resultId, owner, 'my own mistake');
      t.equal(own.uploader.sub, owner.sub);
      t.equal(await prisma.claim.count({ where: { result_id: resultId } }), 3);
      t.equal(await prisma.submit.count({ where: { claim: { result_id: resultId } } }), 3);
    });
    t.test('201 stores the message as sent: unicode, quotes, 4096 characters', async (t) => {
      const resultId = await upload();
      const message = `ü✓🚀 "quotes" 'single' \\ %_ ${'x'.repeat(4000)}`.slice(0, 4096);
      const filed = await claim(resultId, claimer, message);
      t.equal(filed.message, message);
      t.equal((await prisma.claim.findUnique({ where: { id: filed.id } }))?.message, message);
    });
    t.test('401 without a token, whatever the body', async (t) => {
      const resultId = await upload();
      assertError(t, await app.inject({ method: 'POST', url: `/results/${resultId}:claim`, payload: { message: 'x' } }), 401);
      assertError(t, await app.inject({ method: 'POST', url: `/results/${resultId}:claim`, payload: { bad: 1 } }), 401);
      assertError(t, await app.inject({ method: 'POST', url: `/results/${UNKNOWN_ID}:claim`, payload: { message: 'x' } }), 401);
      t.equal(await prisma.claim.count({ where: { result_id: resultId } }), 0);
      t.ok((await listedIds()).includes(resultId), 'still listed');
    });
    t.test('403 for a token holder who is not registered', async (t) => {
      const resultId = await upload();
      const response = await app.inject({
        method: 'POST',
        url: `/results/${resultId}:claim`,
        headers: await ctx.auth(stranger),
        payload: { message: 'x' },
      });
      assertError(t, response, 403);
      t.equal(await prisma.claim.count({ where: { result_id: resultId } }), 0);
    });
    t.test('404 for an unknown result, nothing stored', async (t) => {
      const before = await prisma.claim.count();
      const response = await app.inject({
        method: 'POST',
        url: `/results/${UNKNOWN_ID}:claim`,
        headers: await ctx.auth(claimer),
        payload: { message: 'x' },
      });
      const body = assertError(t, response, 404);
      t.match(body.message, /Result/);
      t.equal(await prisma.claim.count(), before);
    });
    t.test('422 for a malformed body or id', async (t) => {
      const resultId = await upload();
      const headers = await ctx.auth(claimer);
      for (const payload of [{}, { message: '' }, { message: 5 }, { message: 'x', extra: 1 }, { message: 'x'.repeat(4097) }, ['x']]) {
        assertError(t, await app.inject({ method: 'POST', url: `/results/${resultId}:claim`, headers, payload }), 422);
      }
      assertError(t, await app.inject({ method: 'POST', url: '/results/abc:claim', headers, payload: { message: 'x' } }), 422);
      t.equal(await prisma.claim.count({ where: { result_id: resultId } }), 0);
      t.ok((await listedIds()).includes(resultId), 'still listed');
    });
    t.test('422 or 201, never a 500, for a NUL in the message', async (t) => {
      const resultId = await upload();
      const response = await app.inject({
        method: 'POST',
        url: `/results/${resultId}:claim`,
        headers: { ...(await ctx.auth(claimer)), 'content-type': 'application/json' },
        payload: JSON.stringify({ message: 'a\u0000b' }),
      });
      t.ok([201, 422].includes(response.statusCode), `${response.statusCode} ${response.body}`);
      if (response.statusCode === 422) t.ok((await listedIds()).includes(resultId), 'still listed');
    });
    t.test('413 for a body over the size limit', async (t) => {
      const resultId = await upload();
      const response = await app.inject({
        method: 'POST',
        url: `/results/${resultId}:claim`,
        headers: await ctx.auth(claimer),
        payload: { message: 'x'.repeat(ctx.config.bodyLimit + 1) },
      });
      assertError(t, response, 413);
      t.equal(await prisma.claim.count({ where: { result_id: resultId } }), 0);
    });
    t.test('400 for unparseable JSON', async (t) => {
      const resultId = await upload();
      const response = await app.inject({
        method: 'POST',
        url: `/results/${resultId}:claim`,
        headers: { ...(await ctx.auth(claimer)), 'content-type': 'application/json' },
        payload: '{"message":',
      });
      assertError(t, response, 400);
      t.equal(await prisma.claim.count({ where: { result_id: resultId } }), 0);
    });
  });

  t.test('the full cycle: hide, approve keeps it hidden; hide, reject restores it', async (t) => {
    const upheld = await upload();
    const refused = await upload();
    const a = await claim(upheld);
    const b = await claim(refused);
    let submits = await claimSubmits();
    t.ok(
      submits.some((s) => s.resource_id === a.id && s.resource_type === 'claim' && s.uploader.sub === claimer.sub),
      'submit of a',
    );
    t.ok(
      submits.some((s) => s.resource_id === b.id),
      'submit of b',
    );
    t.notOk((await listedIds()).includes(upheld));
    t.notOk((await listedIds()).includes(refused));

    const approved = await approve(a.id);
    t.equal(approved.statusCode, 204, approved.body);
    t.equal(approved.body, '');
    t.equal((await prisma.claim.findUnique({ where: { id: a.id } }))?.status, 'approved');
    t.equal(await prisma.submit.count({ where: { claim_id: a.id } }), 0, 'its submit is closed');
    t.equal((await prisma.result.findUnique({ where: { id: upheld } }))?.deleted, true);
    t.notOk((await listedIds()).includes(upheld), 'an upheld claim keeps the result hidden');
    t.notOk((await searchedIds()).includes(upheld));
    t.equal((await app.inject({ url: `/results/${upheld}` })).statusCode, 200, 'still readable by id');

    const rejected = await reject(b.id);
    t.equal(rejected.statusCode, 204, rejected.body);
    t.equal(rejected.body, '');
    t.equal(await prisma.claim.count({ where: { id: b.id } }), 0, 'a refused claim is deleted');
    t.equal(await prisma.submit.count({ where: { claim_id: b.id } }), 0, 'with its submit');
    t.equal((await prisma.result.findUnique({ where: { id: refused } }))?.deleted, false);
    t.ok((await listedIds()).includes(refused), 'listed again');
    t.ok((await searchedIds()).includes(refused), 'found again');

    submits = await claimSubmits();
    t.notOk(
      submits.some((s) => s.resource_id === a.id || s.resource_id === b.id),
      'both submits gone',
    );
    const all = await app.inject({ url: '/reports/submits?per_page=100', headers: await ctx.auth(admin) });
    t.notOk(assertPageResponse<Submit>(t, all).items.some((s) => s.resource_id === a.id || s.resource_id === b.id));
  });

  t.test('two claims on one result: rejecting one keeps it hidden, rejecting both restores it', async (t) => {
    const resultId = await upload();
    const first = await claim(resultId, claimer);
    const other = await claim(resultId, second);
    t.equal((await reject(first.id)).statusCode, 204);
    t.notOk((await listedIds()).includes(resultId), 'still hidden by the other claim');
    t.equal((await prisma.result.findUnique({ where: { id: resultId } }))?.deleted, true);
    t.equal((await reject(other.id)).statusCode, 204);
    t.ok((await listedIds()).includes(resultId), 'listed once no claim stands');
    t.equal(await prisma.claim.count({ where: { result_id: resultId } }), 0);

    const again = await claim(resultId, claimer, 'hidden anew');
    t.notOk((await listedIds()).includes(resultId), 'a restored result can be claimed again');
    t.equal((await reject(again.id)).statusCode, 204);
    t.ok((await listedIds()).includes(resultId));
  });

  t.test('two claims on one result: one upheld, the other refused, it stays hidden', async (t) => {
    const resultId = await upload();
    const first = await claim(resultId, claimer);
    const other = await claim(resultId, second);
    t.equal((await approve(first.id)).statusCode, 204);
    t.equal((await reject(other.id)).statusCode, 204);
    t.notOk((await listedIds()).includes(resultId), 'the upheld claim still stands');
    t.equal((await prisma.result.findUnique({ where: { id: resultId } }))?.deleted, true);
    t.same(
      (await prisma.claim.findMany({ where: { result_id: resultId } })).map((c) => c.status),
      ['approved'],
    );
  });

  t.test('ListClaims GET /reports/claims', async (t) => {
    t.test('200 claims by status (approved by default, as the reference), filtered by upload date, sorted, paged', async (t) => {
      const resultId = await upload();
      const c1 = await claim(resultId, claimer, 'first');
      await new Promise((resolve) => setTimeout(resolve, 20));
      const c2 = await claim(resultId, second, 'second');
      await new Promise((resolve) => setTimeout(resolve, 20));
      const c3 = await claim(resultId, owner, 'third');
      t.equal((await approve(c1.id)).statusCode, 204);
      const headers = await ctx.auth(admin);
      const list = async (query: string) => {
        const body = assertPageResponse<Claim>(t, await app.inject({ url: `/reports/claims?per_page=100&${query}`, headers }));
        for (const item of body.items) assertClaim(t, item);
        return body;
      };
      const ours = (body: Claims) => body.items.map((item) => item.id).filter((id) => [c1.id, c2.id, c3.id].includes(id));
      t.same(ours(await list('')), [c1.id], 'the upheld claims by default');
      t.same(ours(await list('status=on_review')), [c2.id, c3.id], 'oldest first');
      t.same(ours(await list('status=approved')), [c1.id]);
      for (const item of (await list('status=approved')).items) t.equal(item.status, 'approved');
      for (const item of (await list('status=on_review')).items) t.equal(item.status, 'on_review');
      t.same(ours(await list('status=on_review&sort_by=-upload_datetime')), [c3.id, c2.id]);
      t.same(ours(await list('status=on_review&sort_by=%2Bid')), [c2.id, c3.id].sort());
      t.same(ours(await list('status=on_review&sort_by=-id')), [c2.id, c3.id].sort().reverse());
      t.same(ours(await list(`status=on_review&upload_after=${c2.upload_datetime}`)), [c3.id], 'upload_after is strict');
      t.same(ours(await list(`status=on_review&upload_before=${c3.upload_datetime}`)), [c2.id], 'upload_before is strict');
      t.same(ours(await list(`upload_before=${c2.upload_datetime}`)), [c1.id], 'upload_before with the default status');
      t.same(ours(await list(`upload_after=${c1.upload_datetime}`)), [], 'upload_after with the default status');
      t.same(ours(await list(`upload_after=${c1.upload_datetime}&upload_before=${c3.upload_datetime}&status=on_review`)), [c2.id]);
      const total = (await list('status=on_review')).total;
      const one = assertPageResponse<Claim>(t, await app.inject({ url: '/reports/claims?status=on_review&per_page=1&page=2', headers }));
      t.match(one, { total, page: 2, per_page: 1, has_prev: true, prev_num: 1 });
      t.equal(one.items.length, 1);
    });
    t.test('401 without a token', async (t) => {
      assertError(t, await app.inject({ url: '/reports/claims' }), 401);
      assertError(t, await app.inject({ url: '/reports/claims?status=bogus' }), 401);
    });
    t.test('403 for a user, and for an unregistered token holder', async (t) => {
      assertError(t, await app.inject({ url: '/reports/claims', headers: await ctx.auth(claimer) }), 403);
      assertError(t, await app.inject({ url: '/reports/claims', headers: await ctx.auth(stranger) }), 403);
    });
    t.test('422 for bad parameters', async (t) => {
      const headers = await ctx.auth(admin);
      for (const query of [
        'status=rejected',
        'sort_by=%2Bmessage',
        'sort_by=id',
        'upload_after=2022-13-01',
        'per_page=101',
        'page=0',
        'result_id=x',
      ]) {
        assertError(t, await app.inject({ url: `/reports/claims?${query}`, headers }), 422);
      }
    });
  });

  t.test('GetClaim GET /reports/claims/{report_id}', async (t) => {
    t.test('200 the claim, for an administrator', async (t) => {
      const resultId = await upload();
      const filed = await claim(resultId);
      const response = await app.inject({ url: `/reports/claims/${filed.id}`, headers: await ctx.auth(admin) });
      t.equal(response.statusCode, 200, response.body);
      t.same(assertClaim(t, json(response)), filed);
      t.equal((await approve(filed.id)).statusCode, 204);
      const after = json<Claim>(await app.inject({ url: `/reports/claims/${filed.id}`, headers: await ctx.auth(admin) }));
      t.equal(after.status, 'approved', 'an approved claim can still be read');
    });
    t.test('401 without a token', async (t) => {
      const filed = await claim(await upload());
      assertError(t, await app.inject({ url: `/reports/claims/${filed.id}` }), 401);
    });
    t.test('403 for a user, the claimer included', async (t) => {
      const filed = await claim(await upload());
      assertError(t, await app.inject({ url: `/reports/claims/${filed.id}`, headers: await ctx.auth(claimer) }), 403);
      assertError(t, await app.inject({ url: `/reports/claims/${filed.id}`, headers: await ctx.auth(owner) }), 403);
    });
    t.test('404 for an unknown claim, or one refused (deleted)', async (t) => {
      assertError(t, await app.inject({ url: `/reports/claims/${UNKNOWN_ID}`, headers: await ctx.auth(admin) }), 404);
      const filed = await claim(await upload());
      t.equal((await reject(filed.id)).statusCode, 204);
      assertError(t, await app.inject({ url: `/reports/claims/${filed.id}`, headers: await ctx.auth(admin) }), 404);
    });
    t.test('422 for an id that is not a uuid', async (t) => {
      assertError(t, await app.inject({ url: '/reports/claims/abc', headers: await ctx.auth(admin) }), 422);
    });
  });

  t.test('ApproveClaim POST /reports/claims/{report_id}:approve', async (t) => {
    t.test('204 upholds it (see the cycle), with a form-encoded Content-Type and no body', async (t) => {
      const resultId = await upload();
      const filed = await claim(resultId);
      const response = await app.inject({
        method: 'POST',
        url: `/reports/claims/${filed.id}:approve`,
        headers: { ...(await ctx.auth(admin)), 'content-type': 'application/x-www-form-urlencoded' },
      });
      t.equal(response.statusCode, 204, response.body);
      t.equal((await prisma.claim.findUnique({ where: { id: filed.id } }))?.status, 'approved');
      t.notOk((await listedIds()).includes(resultId));
    });
    t.test('401 without a token', async (t) => {
      const filed = await claim(await upload());
      assertError(t, await app.inject({ method: 'POST', url: `/reports/claims/${filed.id}:approve` }), 401);
      t.equal((await prisma.claim.findUnique({ where: { id: filed.id } }))?.status, 'on_review');
    });
    t.test('403 for a user, the uploader of the result included', async (t) => {
      const filed = await claim(await upload());
      assertError(t, await approve(filed.id, owner), 403);
      assertError(t, await approve(filed.id, claimer), 403);
      assertError(t, await approve(filed.id, stranger), 403);
      t.equal((await prisma.claim.findUnique({ where: { id: filed.id } }))?.status, 'on_review');
    });
    t.test('404 for an unknown claim', async (t) => {
      assertError(t, await approve(UNKNOWN_ID), 404);
    });
    t.test('422 for a claim already approved, which stays so', async (t) => {
      const resultId = await upload();
      const filed = await claim(resultId);
      t.equal((await approve(filed.id)).statusCode, 204);
      const body = assertError(t, await approve(filed.id), 422);
      t.match(body.message, /already approved/);
      t.equal((await prisma.claim.findUnique({ where: { id: filed.id } }))?.status, 'approved');
      t.notOk((await listedIds()).includes(resultId));
    });
    t.test('422 for an id that is not a uuid', async (t) => {
      assertError(t, await approve('abc'), 422);
    });
  });

  t.test('RejectClaim POST /reports/claims/{report_id}:reject', async (t) => {
    t.test('204 refuses it (see the cycle), with a form-encoded Content-Type and no body', async (t) => {
      const resultId = await upload();
      const filed = await claim(resultId);
      const response = await app.inject({
        method: 'POST',
        url: `/reports/claims/${filed.id}:reject`,
        headers: { ...(await ctx.auth(admin)), 'content-type': 'application/x-www-form-urlencoded' },
      });
      t.equal(response.statusCode, 204, response.body);
      t.equal(await prisma.claim.count({ where: { id: filed.id } }), 0);
      t.ok((await listedIds()).includes(resultId));
    });
    t.test('401 without a token', async (t) => {
      const filed = await claim(await upload());
      assertError(t, await app.inject({ method: 'POST', url: `/reports/claims/${filed.id}:reject` }), 401);
      t.equal(await prisma.claim.count({ where: { id: filed.id } }), 1);
    });
    t.test('403 for a user, the claimer included', async (t) => {
      const filed = await claim(await upload());
      assertError(t, await reject(filed.id, claimer), 403);
      assertError(t, await reject(filed.id, owner), 403);
      t.equal(await prisma.claim.count({ where: { id: filed.id } }), 1);
    });
    t.test('404 for an unknown claim, or one already refused', async (t) => {
      assertError(t, await reject(UNKNOWN_ID), 404);
      const filed = await claim(await upload());
      t.equal((await reject(filed.id)).statusCode, 204);
      assertError(t, await reject(filed.id), 404);
    });
    t.test('422 for a claim already approved: it stays, and so does the hiding', async (t) => {
      const resultId = await upload();
      const filed = await claim(resultId);
      t.equal((await approve(filed.id)).statusCode, 204);
      const body = assertError(t, await reject(filed.id), 422);
      t.match(body.message, /already approved/);
      t.equal((await prisma.claim.findUnique({ where: { id: filed.id } }))?.status, 'approved');
      t.notOk((await listedIds()).includes(resultId));
    });
    t.test('422 for an id that is not a uuid', async (t) => {
      assertError(t, await reject('abc'), 422);
    });
  });

  t.test('ListResultClaims GET /results/{result_id}/claims', async (t) => {
    const resultId = await upload();
    const c1 = await claim(resultId, claimer, 'one');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const c2 = await claim(resultId, second, 'two');
    const otherResult = await upload();
    const elsewhere = await claim(otherResult, claimer, 'elsewhere');
    const url = `/results/${resultId}/claims`;

    t.test('200 for the uploader: the claims of that result only, upheld ones by default', async (t) => {
      t.same(assertPageResponse<Claim>(t, await app.inject({ url, headers: await ctx.auth(owner) })).items, [], 'none upheld yet');
      const body = assertPageResponse<Claim>(t, await app.inject({ url: `${url}?status=on_review`, headers: await ctx.auth(owner) }));
      t.same(
        body.items.map((item) => item.id),
        [c1.id, c2.id],
      );
      t.equal(body.total, 2);
      for (const item of body.items) assertClaim(t, item);
      t.notOk(body.items.some((item) => item.id === elsewhere.id));
      t.equal(body.items[0]?.message, 'one');
    });
    t.test('200 for an administrator, with sorting, dates and pages', async (t) => {
      const headers = await ctx.auth(admin);
      const pending = `${url}?status=on_review`;
      t.same(
        assertPageResponse<Claim>(t, await app.inject({ url: pending, headers })).items.map((item) => item.id),
        [c1.id, c2.id],
      );
      t.same(
        assertPageResponse<Claim>(t, await app.inject({ url: `${pending}&sort_by=-upload_datetime`, headers })).items.map(
          (item) => item.id,
        ),
        [c2.id, c1.id],
      );
      t.same(
        assertPageResponse<Claim>(t, await app.inject({ url: `${pending}&upload_after=${c1.upload_datetime}`, headers })).items.map(
          (item) => item.id,
        ),
        [c2.id],
      );
      const second = assertPageResponse<Claim>(t, await app.inject({ url: `${pending}&per_page=1&page=2`, headers }));
      t.same(
        second.items.map((item) => item.id),
        [c2.id],
      );
      t.match(second, { total: 2, pages: 2, has_prev: true, has_next: false });
    });
    t.test('200 shows approved claims by default, and no longer a refused one', async (t) => {
      const r = await upload();
      const kept = await claim(r, claimer, 'kept');
      const dropped = await claim(r, second, 'dropped');
      t.equal((await approve(kept.id)).statusCode, 204);
      t.equal((await reject(dropped.id)).statusCode, 204);
      const body = assertPageResponse<Claim>(t, await app.inject({ url: `/results/${r}/claims`, headers: await ctx.auth(owner) }));
      t.same(
        body.items.map((item) => [item.id, item.status]),
        [[kept.id, 'approved']],
      );
    });
    t.test('200 an empty page for a result never claimed', async (t) => {
      const r = await upload();
      const body = assertPageResponse<Claim>(t, await app.inject({ url: `/results/${r}/claims`, headers: await ctx.auth(owner) }));
      t.same(body.items, []);
      t.equal(body.total, 0);
    });
    t.test('401 without a token', async (t) => {
      assertError(t, await app.inject({ url }), 401);
    });
    t.test('403 for another user, the claimer included, and for an unregistered token holder', async (t) => {
      const body = assertError(t, await app.inject({ url, headers: await ctx.auth(claimer) }), 403);
      t.match(body.message, /uploader|administrator/);
      assertError(t, await app.inject({ url, headers: await ctx.auth(second) }), 403);
      assertError(t, await app.inject({ url, headers: await ctx.auth(stranger) }), 403);
    });
    t.test('403 before the parameters are looked at', async (t) => {
      for (const query of ['per_page=0', 'sort_by=%2Bmessage', 'nonsense=1']) {
        assertError(t, await app.inject({ url: `${url}?${query}`, headers: await ctx.auth(claimer) }), 403);
      }
    });
    t.test('404 for an unknown result', async (t) => {
      assertError(t, await app.inject({ url: `/results/${UNKNOWN_ID}/claims?per_page=0`, headers: await ctx.auth(owner) }), 404);
      assertError(t, await app.inject({ url: `/results/${UNKNOWN_ID}/claims`, headers: await ctx.auth(admin) }), 404);
      assertError(t, await app.inject({ url: `/results/${UNKNOWN_ID}/claims`, headers: await ctx.auth(owner) }), 404);
    });
    t.test('422 for bad parameters', async (t) => {
      const headers = await ctx.auth(owner);
      assertError(t, await app.inject({ url: '/results/abc/claims', headers }), 422);
      for (const query of ['sort_by=%2Bmessage', 'status=rejected', 'upload_before=x', 'per_page=0']) {
        assertError(t, await app.inject({ url: `${url}?${query}`, headers }), 422);
      }
    });
  });

  t.test('ListUserClaims GET /users/self/claims', async (t) => {
    t.test("200 the caller's claims only, by status (approved by default), until refused", async (t) => {
      const me = persona('claims-self');
      await ctx.register(me);
      const r1 = await upload();
      const r2 = await upload();
      const mine1 = await claim(r1, me, 'mine one');
      await new Promise((resolve) => setTimeout(resolve, 20));
      const mine2 = await claim(r2, me, 'mine two');
      await claim(r1, second, 'not mine');
      const headers = await ctx.auth(me);
      const list = async (query = '') => assertPageResponse<Claim>(t, await app.inject({ url: `/users/self/claims${query}`, headers }));
      t.same((await list()).items, [], 'none upheld yet');
      t.same(
        (await list('?status=on_review')).items.map((item) => item.id),
        [mine1.id, mine2.id],
      );
      for (const item of (await list('?status=on_review')).items) {
        assertClaim(t, item);
        t.equal(item.uploader.sub, me.sub);
      }
      t.same(
        (await list('?status=on_review&sort_by=-upload_datetime')).items.map((item) => item.id),
        [mine2.id, mine1.id],
      );
      t.same(
        (await list(`?status=on_review&upload_after=${mine1.upload_datetime}`)).items.map((item) => item.id),
        [mine2.id],
      );
      t.match(await list('?status=on_review&per_page=1'), { total: 2, pages: 2, has_next: true });
      t.equal((await approve(mine1.id)).statusCode, 204);
      t.same(
        (await list()).items.map((item) => [item.id, item.status]),
        [[mine1.id, 'approved']],
      );
      t.same(
        (await list('?status=on_review')).items.map((item) => [item.id, item.status]),
        [[mine2.id, 'on_review']],
      );
      t.same(
        (await list('?sort_by=%2Bstatus,%2Bupload_datetime&status=approved')).items.map((item) => item.id),
        [mine1.id],
        'sortable by status',
      );
      t.equal((await reject(mine2.id)).statusCode, 204);
      t.same(
        (await list('?status=on_review')).items.map((item) => item.id),
        [],
        'a refused claim is gone',
      );
      t.same(
        (await list()).items.map((item) => item.id),
        [mine1.id],
      );
    });
    t.test('401 without a token', async (t) => {
      assertError(t, await app.inject({ url: '/users/self/claims' }), 401);
    });
    t.test('403 for a token holder who is not registered', async (t) => {
      assertError(t, await app.inject({ url: '/users/self/claims', headers: await ctx.auth(stranger) }), 403);
    });
    t.test('422 for bad parameters', async (t) => {
      const headers = await ctx.auth(claimer);
      for (const query of ['sort_by=%2Bmessage', 'status=rejected', 'upload_after=2022-02-30', 'per_page=101']) {
        assertError(t, await app.inject({ url: `/users/self/claims?${query}`, headers }), 422);
      }
    });
  });

  t.test('ListSubmits GET /reports/submits shows pending claims as claim', async (t) => {
    const resultId = await upload();
    const filed = await claim(resultId, second);
    const headers = await ctx.auth(admin);
    const claimsOnly = assertPageResponse<Submit>(
      t,
      await app.inject({ url: '/reports/submits?resource_type=claim&per_page=100', headers }),
    );
    const submit = claimsOnly.items.find((item) => item.resource_id === filed.id);
    t.ok(submit, 'listed');
    t.equal(submit?.resource_type, 'claim');
    t.equal(submit?.uploader.sub, second.sub, 'the claimer is its uploader');
    t.ok(claimsOnly.items.every((item) => item.resource_type === 'claim'));
    const benchmarksOnly = assertPageResponse<Submit>(
      t,
      await app.inject({ url: '/reports/submits?resource_type=benchmark&per_page=100', headers }),
    );
    t.notOk(benchmarksOnly.items.some((item) => item.resource_id === filed.id));
    t.equal((await approve(filed.id)).statusCode, 204);
    const after = assertPageResponse<Submit>(t, await app.inject({ url: '/reports/submits?resource_type=claim&per_page=100', headers }));
    t.notOk(
      after.items.some((item) => item.resource_id === filed.id),
      'gone once decided',
    );
  });

  t.test('concurrency', async (t) => {
    t.test('20 parallel claims on one result are all stored, each with its submit', async (t) => {
      const resultId = await upload();
      const headers = await ctx.auth(claimer);
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          app.inject({ method: 'POST', url: `/results/${resultId}:claim`, headers, payload: { message: `m${i}` } }),
        ),
      );
      t.same([...new Set(responses.map((response) => response.statusCode))], [201]);
      t.equal(await prisma.claim.count({ where: { result_id: resultId } }), 20);
      t.equal(await prisma.submit.count({ where: { claim: { result_id: resultId } } }), 20);
      t.equal((await prisma.result.findUnique({ where: { id: resultId } }))?.deleted, true);
    });
    t.test('10 parallel refusals of one claim: one 204, the others 404, never a 500', async (t) => {
      const resultId = await upload();
      const filed = await claim(resultId);
      const headers = await ctx.auth(admin);
      const responses = await Promise.all(
        Array.from({ length: 10 }, () => app.inject({ method: 'POST', url: `/reports/claims/${filed.id}:reject`, headers })),
      );
      const codes = responses.map((response) => response.statusCode).sort();
      t.same(codes, [204, 404, 404, 404, 404, 404, 404, 404, 404, 404], responses.map((r) => r.body).join(' '));
      t.equal((await prisma.result.findUnique({ where: { id: resultId } }))?.deleted, false, 'restored');
    });
    t.test('10 parallel approvals of one claim: one 204, the others 422', async (t) => {
      const filed = await claim(await upload());
      const headers = await ctx.auth(admin);
      const responses = await Promise.all(
        Array.from({ length: 10 }, () => app.inject({ method: 'POST', url: `/reports/claims/${filed.id}:approve`, headers })),
      );
      t.same(responses.map((response) => response.statusCode).sort(), [204, 422, 422, 422, 422, 422, 422, 422, 422, 422]);
      t.equal((await prisma.claim.findUnique({ where: { id: filed.id } }))?.status, 'approved');
    });
    t.test('approval racing refusal: exactly one wins, and the state agrees with it', async (t) => {
      const headers = await ctx.auth(admin);
      for (let round = 0; round < 10; round += 1) {
        const resultId = await upload();
        const filed = await claim(resultId);
        const [approval, refusal] = await Promise.all([
          app.inject({ method: 'POST', url: `/reports/claims/${filed.id}:approve`, headers }),
          app.inject({ method: 'POST', url: `/reports/claims/${filed.id}:reject`, headers }),
        ]);
        const codes = [approval.statusCode, refusal.statusCode];
        t.equal(codes.filter((code) => code === 204).length, 1, `round ${round}: one winner (${codes.join(', ')}) ${refusal.body}`);
        t.ok(
          codes.every((code) => code === 204 || code === 404 || code === 422),
          'the loser is told why',
        );
        const row = await prisma.claim.findUnique({ where: { id: filed.id } });
        const hidden = (await prisma.result.findUnique({ where: { id: resultId } }))?.deleted;
        if (approval.statusCode === 204) {
          t.equal(row?.status, 'approved', 'approved: the claim stands');
          t.equal(hidden, true, 'approved: still hidden');
        } else {
          t.equal(row, null, 'refused: the claim is gone');
          t.equal(hidden, false, 'refused: restored');
        }
      }
    });
    t.test('parallel refusals of two claims on one result restore it', async (t) => {
      for (let round = 0; round < 5; round += 1) {
        const resultId = await upload();
        const a = await claim(resultId, claimer);
        const b = await claim(resultId, second);
        const [ra, rb] = await Promise.all([reject(a.id), reject(b.id)]);
        t.same([ra.statusCode, rb.statusCode], [204, 204]);
        t.equal((await prisma.result.findUnique({ where: { id: resultId } }))?.deleted, false, `round ${round}: restored`);
      }
    });
    t.test('a claim racing the refusal of another keeps the result hidden', async (t) => {
      for (let round = 0; round < 5; round += 1) {
        const resultId = await upload();
        const a = await claim(resultId, claimer);
        const [refusal, filing] = await Promise.all([
          reject(a.id),
          app.inject({ method: 'POST', url: `/results/${resultId}:claim`, headers: await ctx.auth(second), payload: { message: 'race' } }),
        ]);
        t.same([refusal.statusCode, filing.statusCode], [204, 201]);
        t.equal((await prisma.result.findUnique({ where: { id: resultId } }))?.deleted, true, `round ${round}: the new claim hides it`);
      }
    });
  });
});
