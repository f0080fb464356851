// GET /reports/submits: the uploads waiting for an administrator, with their
// uploader; and the review workflow seen from there (a submit appears with
// the upload and goes with approve, reject or delete).
import t from 'tap';
import { adminPersona, eachDatabase, json, persona, type Persona, type TestContext } from './helpers/app.js';
import { assertError, assertPage, ids } from './helpers/assertions.js';
import { SUBMIT_KEYS, USER_KEYS, type Submit, type Submits, type User } from './helpers/contract.js';
import { fetchPage, UNKNOWN_ID, unique } from './helpers/fixtures.js';
import { seeder } from './helpers/seed.js';

type ResourceType = Submit['resource_type'];

eachDatabase(t, async (t, ctx: TestContext) => {
  const { app } = ctx;
  const prisma = ctx.db.prisma;
  const admin = adminPersona('submits-admin');
  const user = persona('submits-user');
  const claimer = persona('submits-claimer');
  await ctx.register(admin);
  await ctx.register(user);
  await ctx.register(claimer);
  const headers = (p: Persona) => ctx.auth(p);
  const seed = seeder(ctx, user);

  const list = async (query: string) => fetchPage<Submit>(app, `/reports/submits${query ? `?${query}` : ''}`, await headers(admin));

  /** Stores one resource of each kind on review, with its submit, all uploaded at `when` (+ seconds). */
  async function seedAll(year: number) {
    const at = (second: number) => new Date(Date.UTC(year, 5, 1, 12, 0, second));
    const approvedSite = await seed.site({ name: unique('host'), address: 'x' });
    const approvedFlavor = await seed.flavor(approvedSite.id, { name: 'f' });
    const approvedBenchmark = await seed.benchmark({ docker_image: unique('approved'), docker_tag: 'v1' });
    const result = await seed.result(approvedBenchmark.id, approvedFlavor);
    // Upload order: flavor, claim, site, benchmark. Alphabetical: benchmark, claim, flavor, site.
    const flavor = await prisma.flavor.create({
      data: {
        site_id: approvedSite.id,
        name: 'pending',
        upload_datetime: at(1),
        ...seed.uploader(),
        submit: { create: { resource_type: 'flavor', upload_datetime: at(1) } },
      },
      include: { submit: true },
    });
    const claim = await prisma.claim.create({
      data: {
        message: 'wrong',
        result_id: result.id,
        upload_datetime: at(2),
        ...seed.uploader(claimer),
        submit: { create: { resource_type: 'claim', upload_datetime: at(2) } },
      },
      include: { submit: true },
    });
    const site = await prisma.site.create({
      data: {
        name: unique('pending'),
        address: 'x',
        upload_datetime: at(3),
        ...seed.uploader(),
        submit: { create: { resource_type: 'site', upload_datetime: at(3) } },
      },
      include: { submit: true },
    });
    const benchmark = await prisma.benchmark.create({
      data: {
        docker_image: unique('pending'),
        docker_tag: 'v1',
        json_schema: {},
        upload_datetime: at(4),
        ...seed.uploader(),
        submit: { create: { resource_type: 'benchmark', upload_datetime: at(4) } },
      },
      include: { submit: true },
    });
    const range = `upload_after=${year}-01-01&upload_before=${year + 1}-01-01`;
    return { flavor, claim, site, benchmark, range, at };
  }

  t.test('ListSubmits GET /reports/submits', async (t) => {
    const seeded = await seedAll(2001);
    const submitIds = {
      flavor: seeded.flavor.submit!.id,
      claim: seeded.claim.submit!.id,
      site: seeded.site.submit!.id,
      benchmark: seeded.benchmark.submit!.id,
    };

    t.test('200 lists every kind of submit with its resource and uploader, by +resource_type (the reference default)', async (t) => {
      const response = await app.inject({ url: `/reports/submits?${seeded.range}`, headers: await headers(admin) });
      t.equal(response.statusCode, 200, response.body);
      const page = json<Submits>(response);
      assertPage(t, page, { total: 4, page: 1, pages: 1, per_page: 100, has_next: false, has_prev: false, next_num: null, prev_num: null });
      t.same(ids(page), [submitIds.benchmark, submitIds.claim, submitIds.flavor, submitIds.site]);
      for (const submit of page.items) {
        t.same(Object.keys(submit).sort(), SUBMIT_KEYS, 'exactly the Submit fields');
        t.same(Object.keys(submit.uploader).sort(), USER_KEYS, 'exactly the User fields');
      }
      const userRow = await prisma.user.findUniqueOrThrow({ where: { sub_iss: { sub: user.sub, iss: ctx.oidc.issuer } } });
      const claimerRow = await prisma.user.findUniqueOrThrow({ where: { sub_iss: { sub: claimer.sub, iss: ctx.oidc.issuer } } });
      const asUser = (row: typeof userRow): User => ({
        sub: row.sub,
        iss: row.iss,
        email: row.email,
        registration_datetime: row.registration_datetime.toISOString(),
      });
      t.same(page.items, [
        {
          id: submitIds.benchmark,
          upload_datetime: seeded.at(4).toISOString(),
          resource_type: 'benchmark',
          resource_id: seeded.benchmark.id,
          uploader: asUser(userRow),
        },
        {
          id: submitIds.claim,
          upload_datetime: seeded.at(2).toISOString(),
          resource_type: 'claim',
          resource_id: seeded.claim.id,
          uploader: asUser(claimerRow),
        },
        {
          id: submitIds.flavor,
          upload_datetime: seeded.at(1).toISOString(),
          resource_type: 'flavor',
          resource_id: seeded.flavor.id,
          uploader: asUser(userRow),
        },
        {
          id: submitIds.site,
          upload_datetime: seeded.at(3).toISOString(),
          resource_type: 'site',
          resource_id: seeded.site.id,
          uploader: asUser(userRow),
        },
      ]);
    });

    t.test('200 filters by resource_type', async (t) => {
      for (const type of ['benchmark', 'site', 'flavor', 'claim'] as const) {
        const page = await list(`${seeded.range}&resource_type=${type}`);
        t.same(ids(page), [submitIds[type]], type);
        const everywhere = await list(`resource_type=${type}`);
        t.ok(
          everywhere.items.every((s) => s.resource_type === type),
          `only ${type}s`,
        );
      }
    });

    t.test('200 filters by upload date', async (t) => {
      t.same(
        ids(await list('upload_after=2001-06-01T12:00:02Z&upload_before=2001-06-01T12:00:04Z')),
        [submitIds.site],
        'both bounds strict',
      );
      t.same(ids(await list(`upload_after=${encodeURIComponent('2001-06-01T14:00:02+02:00')}&upload_before=2001-12-31`)), [
        submitIds.benchmark,
        submitIds.site,
      ]);
      t.same(ids(await list('upload_after=2001-06-01T12:00:03&upload_before=2002-01-01')), [submitIds.benchmark], 'no zone is UTC');
      t.same(ids(await list('upload_before=2001-06-01')), [], 'nothing that old');
    });

    t.test('200 sorts by every allowed field, both ways, and by several fields', async (t) => {
      const order = (sortBy: string) => list(`${seeded.range}&sort_by=${encodeURIComponent(sortBy)}`).then(ids);
      const byUpload = [submitIds.flavor, submitIds.claim, submitIds.site, submitIds.benchmark];
      t.same(await order('+upload_datetime'), byUpload);
      t.same(await order('-upload_datetime'), [...byUpload].reverse());
      const byId = Object.values(submitIds).sort();
      t.same(await order('+id'), byId);
      t.same(await order('-id'), [...byId].reverse());
      const alphabetical = [submitIds.benchmark, submitIds.claim, submitIds.flavor, submitIds.site];
      t.same(await order('+resource_type'), alphabetical, 'resource types in alphabetical order');
      t.same(await order('-resource_type'), [...alphabetical].reverse());
      t.same(await order('+resource_type,-upload_datetime'), alphabetical, 'several fields');
    });

    t.test('200 sorts by resource_type, then the next key', async (t) => {
      const two = await seedAll(2003);
      const one = await seedAll(2004);
      const order = (sortBy: string) =>
        list(`upload_after=2003-01-01&upload_before=2005-01-01&sort_by=${encodeURIComponent(sortBy)}`).then(ids);
      const submitOf = (s: typeof two, type: ResourceType) => s[type].submit!.id;
      const types: ResourceType[] = ['benchmark', 'claim', 'flavor', 'site'];
      t.same(
        await order('+resource_type,-upload_datetime'),
        types.flatMap((type) => [submitOf(one, type), submitOf(two, type)]),
      );
      t.same(
        await order('-resource_type,+upload_datetime'),
        [...types].reverse().flatMap((type) => [submitOf(two, type), submitOf(one, type)]),
      );
    });

    t.test('200 pages with the envelope, and a page past the end is empty', async (t) => {
      const first = await list(`${seeded.range}&per_page=3`);
      assertPage(t, first, { total: 4, page: 1, pages: 2, per_page: 3, has_next: true, has_prev: false, next_num: 2, prev_num: null });
      t.same(ids(first), [submitIds.benchmark, submitIds.claim, submitIds.flavor]);
      const second = await list(`${seeded.range}&per_page=3&page=2`);
      assertPage(t, second, { total: 4, page: 2, pages: 2, has_next: false, has_prev: true, next_num: null, prev_num: 1 });
      t.same(ids(second), [submitIds.site]);
      const past = await list(`${seeded.range}&per_page=3&page=3`);
      assertPage(t, past, { items: [], total: 4, page: 3, pages: 2, has_next: false, next_num: null });
    });

    t.test('200 a page number beyond any page is an empty page (or a 422), never a 500', async (t) => {
      const response = await app.inject({ url: '/reports/submits?page=100000000000000000000', headers: await headers(admin) });
      t.ok([200, 422].includes(response.statusCode), `${response.statusCode} ${response.body}`);
    });

    t.test('401 without a token', async (t) => {
      assertError(t, await app.inject({ url: '/reports/submits' }), 401);
      assertError(t, await app.inject({ url: '/reports/submits?resource_type=nonsense' }), 401);
    });
    t.test('401 with an invalid token', async (t) => {
      assertError(t, await app.inject({ url: '/reports/submits', headers: { authorization: 'Bearer x.y.z' } }), 401);
    });
    t.test('403 for a user who is not an administrator', async (t) => {
      assertError(t, await app.inject({ url: '/reports/submits', headers: await headers(user) }), 403);
    });
    t.test('403 for an administrator who is not registered', async (t) => {
      assertError(t, await app.inject({ url: '/reports/submits', headers: await headers(adminPersona('submits-unregistered')) }), 403);
    });
    t.test('422 for an unknown resource_type', async (t) => {
      assertError(t, await app.inject({ url: '/reports/submits?resource_type=tag', headers: await headers(admin) }), 422);
    });
    t.test('422 for a bad sort', async (t) => {
      const auth = await headers(admin);
      assertError(t, await app.inject({ url: '/reports/submits?sort_by=%2Bresource_id', headers: auth }), 422);
      assertError(t, await app.inject({ url: '/reports/submits?sort_by=upload_datetime', headers: auth }), 422);
      assertError(t, await app.inject({ url: '/reports/submits?sort_by=%2Bid,,-id', headers: auth }), 422);
    });
    t.test('422 for an unknown query parameter', async (t) => {
      assertError(t, await app.inject({ url: '/reports/submits?status=on_review', headers: await headers(admin) }), 422);
    });
    t.test('422 for a bad date or page', async (t) => {
      const auth = await headers(admin);
      assertError(t, await app.inject({ url: '/reports/submits?upload_after=soon', headers: auth }), 422);
      assertError(t, await app.inject({ url: '/reports/submits?per_page=0', headers: auth }), 422);
    });
  });

  t.test('review workflow seen from the submits', async (t) => {
    const submitsOf = async (resourceId: string) =>
      (await list(`upload_after=${encodeURIComponent(new Date(Date.now() - 3600_000).toISOString())}`)).items.filter(
        (s) => s.resource_id === resourceId,
      );
    const create = async (url: string, payload: object) => {
      const response = await app.inject({ method: 'POST', url, headers: await headers(user), payload });
      if (response.statusCode !== 201) throw new Error(`${url}: ${response.statusCode} ${response.body}`);
      return json<{ id: string; upload_datetime: string }>(response);
    };
    const call = async (method: 'POST' | 'DELETE', url: string) => {
      const response = await app.inject({ method, url, headers: await headers(admin) });
      if (response.statusCode !== 204) throw new Error(`${url}: ${response.statusCode} ${response.body}`);
    };

    t.test('a created site appears, with its uploader, and goes when approved', async (t) => {
      const site = await create('/sites', { name: unique('wfsite'), address: 'x' });
      const submits = await submitsOf(site.id);
      t.equal(submits.length, 1);
      t.match(submits[0], {
        resource_type: 'site',
        resource_id: site.id,
        uploader: { sub: user.sub, iss: ctx.oidc.issuer, email: user.email },
      });
      t.equal(submits[0]?.upload_datetime, site.upload_datetime, 'submitted when uploaded');
      await call('POST', `/sites/${site.id}:approve`);
      t.same(await submitsOf(site.id), []);
      t.equal(await prisma.submit.count({ where: { site_id: site.id } }), 0);
    });
    t.test('a created site goes when rejected', async (t) => {
      const site = await create('/sites', { name: unique('wfsite'), address: 'x' });
      t.equal((await submitsOf(site.id)).length, 1);
      await call('POST', `/sites/${site.id}:reject`);
      t.same(await submitsOf(site.id), []);
    });
    t.test('a created site goes when deleted, with its flavors', async (t) => {
      const site = await create('/sites', { name: unique('wfsite'), address: 'x' });
      const flavor = await create(`/sites/${site.id}/flavors`, { name: 'f' });
      t.equal((await submitsOf(flavor.id)).length, 1);
      await call('DELETE', `/sites/${site.id}`);
      t.same(await submitsOf(site.id), []);
      t.same(await submitsOf(flavor.id), [], "the flavor's submit too");
    });
    t.test('a created flavor appears and goes when approved', async (t) => {
      const host = await seed.site({ name: unique('host'), address: 'x' });
      const flavor = await create(`/sites/${host.id}/flavors`, { name: 'approve-me' });
      const submits = await submitsOf(flavor.id);
      t.equal(submits.length, 1);
      t.match(submits[0], { resource_type: 'flavor', resource_id: flavor.id, uploader: { sub: user.sub } });
      await call('POST', `/flavors/${flavor.id}:approve`);
      t.same(await submitsOf(flavor.id), []);
    });
    t.test('a created flavor goes when rejected or deleted', async (t) => {
      const host = await seed.site({ name: unique('host'), address: 'x' });
      const rejected = await create(`/sites/${host.id}/flavors`, { name: 'reject-me' });
      const deleted = await create(`/sites/${host.id}/flavors`, { name: 'delete-me' });
      t.equal((await submitsOf(rejected.id)).length, 1);
      t.equal((await submitsOf(deleted.id)).length, 1);
      await call('POST', `/flavors/${rejected.id}:reject`);
      await call('DELETE', `/flavors/${deleted.id}`);
      t.same(await submitsOf(rejected.id), []);
      t.same(await submitsOf(deleted.id), []);
    });
    t.test('a refused approval leaves the submit in place', async (t) => {
      const site = await create('/sites', { name: unique('wfsite'), address: 'x' });
      const response = await app.inject({ method: 'POST', url: `/sites/${site.id}:approve`, headers: await headers(user) });
      assertError(t, response, 403);
      t.equal((await submitsOf(site.id)).length, 1);
      assertError(t, await app.inject({ method: 'POST', url: `/sites/${UNKNOWN_ID}:approve`, headers: await headers(admin) }), 404);
      t.equal((await submitsOf(site.id)).length, 1);
    });
    t.test('a submit whose uploader is removed goes with the upload', async (t) => {
      const leaving = persona('submits-leaving');
      await ctx.register(leaving);
      const response = await app.inject({
        method: 'POST',
        url: '/sites',
        headers: await headers(leaving),
        payload: { name: unique('leaving'), address: 'x' },
      });
      t.equal(response.statusCode, 201, response.body);
      const site = json<{ id: string }>(response);
      await prisma.user.delete({ where: { sub_iss: { sub: leaving.sub, iss: ctx.oidc.issuer } } });
      t.same(await submitsOf(site.id), []);
      t.equal(await prisma.submit.count({ where: { site_id: site.id } }), 0);
    });
  });

  t.test('integrity: every submit points at exactly the resource its type names', async (t) => {
    const submits = await prisma.submit.findMany();
    t.ok(submits.length > 0);
    for (const s of submits) {
      const set = (['benchmark', 'site', 'flavor', 'claim'] as const).filter((type) => s[`${type}_id`] !== null);
      t.same(set, [s.resource_type], `submit ${s.id}`);
    }
    // And the list never fails on them (a submit pointing nowhere would be a 500).
    const response = await app.inject({ url: '/reports/submits?per_page=100', headers: await headers(admin) });
    t.equal(response.statusCode, 200, response.body);
  });
});
