// The `flavors` tag: listed, searched and created under their site
// (/sites/{site_id}/flavors), read and administered by id (/flavors/{flavor_id}).
// One named case per status code, with what the database holds afterwards.
import t from 'tap';
import { adminPersona, eachDatabase, json, persona, type Persona, type Test as Tap, type TestContext } from './helpers/app.js';
import { assertCatalogItem, assertError, assertPage, ids } from './helpers/assertions.js';
import { FLAVOR_KEYS, SITE_KEYS, type Flavor, type Flavors, type Site } from './helpers/contract.js';
import { FORM, fetchPage, UNKNOWN_ID } from './helpers/fixtures.js';
import { seeder } from './helpers/seed.js';

function assertFlavor(t: Tap, flavor: Flavor): void {
  assertCatalogItem(t, flavor, FLAVOR_KEYS, 'Flavor');
}

eachDatabase(t, async (t, ctx: TestContext) => {
  const { app } = ctx;
  const prisma = ctx.db.prisma;
  const admin = adminPersona('flavors-admin');
  const user = persona('flavors-user');
  const other = persona('flavors-other');
  const unregistered = persona('flavors-unregistered');
  await ctx.register(admin);
  await ctx.register(user);
  await ctx.register(other);
  const headers = (p: Persona) => ctx.auth(p);
  const seed = seeder(ctx, user);

  async function addFlavor(siteId: string, body: Record<string, unknown>, who: Persona = user): Promise<Flavor> {
    const response = await app.inject({ method: 'POST', url: `/sites/${siteId}/flavors`, headers: await headers(who), payload: body });
    if (response.statusCode !== 201) throw new Error(`add flavor: ${response.statusCode} ${response.body}`);
    return json<Flavor>(response);
  }

  const list = (url: string) => fetchPage<Flavor>(app, url);

  const snapshot = (id: string) => prisma.flavor.findUnique({ where: { id }, include: { submit: true } });
  const row = (id: string) => prisma.flavor.findUnique({ where: { id } });

  t.test('ListFlavors GET /sites/{site_id}/flavors', async (t) => {
    const site = await seed.site();
    const elsewhere = await seed.site();
    const b = await seed.flavor(site.id, { name: 'b', description: 'second' });
    const a = await seed.flavor(site.id, { name: 'a' });
    const pending = await seed.flavor(site.id, { name: 'c', status: 'on_review' });
    await seed.flavor(elsewhere.id, { name: 'a' });
    const url = `/sites/${site.id}/flavors`;

    t.test('200 lists the approved flavors of this site only, sorted by +name, without a token', async (t) => {
      const response = await app.inject({ url });
      t.equal(response.statusCode, 200, response.body);
      const page = json<Flavors>(response);
      assertPage(t, page, { total: 2, page: 1, pages: 1, per_page: 100, has_next: false, has_prev: false, next_num: null, prev_num: null });
      t.same(ids(page), [a.id, b.id]);
      for (const flavor of page.items) assertFlavor(t, flavor);
      t.same(page.items[1], {
        id: b.id,
        upload_datetime: b.upload_datetime.toISOString(),
        name: 'b',
        description: 'second',
        status: 'approved',
      });
    });
    t.test('200 status=on_review lists the flavors waiting for review', async (t) => {
      const page = await list(`${url}?status=on_review`);
      t.same(ids(page), [pending.id]);
      t.equal(page.items[0]?.status, 'on_review');
      t.same(ids(await list(`${url}?status=approved`)), [a.id, b.id]);
    });
    t.test('200 filters by exact name', async (t) => {
      t.same(ids(await list(`${url}?name=b`)), [b.id]);
      t.same(ids(await list(`${url}?name=B`)), [], 'case-sensitive');
      t.same(ids(await list(`${url}?name=c`)), [], 'on review: not by default');
      t.same(ids(await list(`${url}?name=c&status=on_review`)), [pending.id]);
    });
    t.test('200 an empty page for a site without flavors', async (t) => {
      const empty = await seed.site();
      assertPage(t, await list(`/sites/${empty.id}/flavors`), { items: [], total: 0, pages: 0, has_next: false, has_prev: false });
    });
    t.test('200 the flavors of a site on review', async (t) => {
      const onReview = await seed.site({ status: 'on_review' });
      const flavor = await seed.flavor(onReview.id);
      t.same(ids(await list(`/sites/${onReview.id}/flavors`)), [flavor.id]);
    });
    t.test('200 pages with the envelope, and a page past the end is empty', async (t) => {
      const big = await seed.site();
      const seeded = [];
      for (const name of ['a', 'b', 'c', 'd', 'e']) seeded.push(await seed.flavor(big.id, { name }));
      const base = `/sites/${big.id}/flavors?per_page=2`;
      const first = await list(base);
      assertPage(t, first, { total: 5, page: 1, pages: 3, per_page: 2, has_next: true, has_prev: false, next_num: 2, prev_num: null });
      t.same(ids(first), [seeded[0]!.id, seeded[1]!.id]);
      const second = await list(`${base}&page=2`);
      assertPage(t, second, { page: 2, has_next: true, has_prev: true, next_num: 3, prev_num: 1 });
      t.same(ids(second), [seeded[2]!.id, seeded[3]!.id]);
      const last = await list(`${base}&page=3`);
      assertPage(t, last, { page: 3, has_next: false, has_prev: true, next_num: null, prev_num: 2 });
      t.same(ids(last), [seeded[4]!.id]);
      const past = await list(`${base}&page=7`);
      assertPage(t, past, { items: [], total: 5, page: 7, pages: 3, has_next: false, next_num: null });
    });
    t.test('200 sorts by every allowed field, both ways, and by several fields', async (t) => {
      const s = await seed.site();
      const f1 = await seed.flavor(s.id, { name: 'b', upload_datetime: new Date('2021-03-01T00:00:00Z') });
      const f2 = await seed.flavor(s.id, { name: 'c', upload_datetime: new Date('2021-01-01T00:00:00Z') });
      const f3 = await seed.flavor(s.id, { name: 'a', upload_datetime: new Date('2021-03-01T00:00:00Z') });
      const order = async (sortBy: string) => ids(await list(`/sites/${s.id}/flavors?sort_by=${encodeURIComponent(sortBy)}`));
      t.same(await order('+name'), [f3.id, f1.id, f2.id]);
      t.same(await order('-name'), [f2.id, f1.id, f3.id]);
      const byId = [f1, f2, f3].map((f) => f.id).sort();
      t.same(await order('+id'), byId);
      t.same(await order('-id'), [...byId].reverse());
      t.same(await order('+upload_datetime,-name'), [f2.id, f1.id, f3.id]);
      t.same(await order('-upload_datetime,+name'), [f3.id, f1.id, f2.id]);
      t.same(await order('+upload_datetime'), [f2.id, ...[f1.id, f3.id].sort()], 'ties broken by id');
    });
    t.test('200 filters by upload date', async (t) => {
      const s = await seed.site();
      const old = await seed.flavor(s.id, { upload_datetime: new Date('2020-01-01T00:00:00Z') });
      const mid = await seed.flavor(s.id, { upload_datetime: new Date('2021-06-15T12:00:00Z') });
      const recent = await seed.flavor(s.id, { upload_datetime: new Date('2022-12-31T23:59:59Z') });
      const at = (q: string) => list(`/sites/${s.id}/flavors?sort_by=%2Bupload_datetime&${q}`).then(ids);
      t.same(await at('upload_after=2021-01-01'), [mid.id, recent.id]);
      t.same(await at('upload_before=2021-01-01'), [old.id]);
      t.same(await at('upload_after=2021-01-01&upload_before=2022-01-01'), [mid.id]);
      t.same(await at('upload_before=2021-06-15T12:00:00Z'), [old.id], 'strict');
      t.same(await at('upload_after=2099-01-01'), []);
    });
    t.test('404 for an unknown site', async (t) => {
      assertError(t, await app.inject({ url: `/sites/${UNKNOWN_ID}/flavors` }), 404);
      assertError(t, await app.inject({ url: `/sites/${UNKNOWN_ID}/flavors?status=on_review&name=x` }), 404);
    });
    t.test('422 for a bad sort', async (t) => {
      assertError(t, await app.inject({ url: `${url}?sort_by=%2Baddress` }), 422);
      assertError(t, await app.inject({ url: `${url}?sort_by=name` }), 422);
      assertError(t, await app.inject({ url: `${url}?sort_by=%2Bname,upload_datetime` }), 422);
    });
    t.test('422 for an unknown query parameter', async (t) => {
      assertError(t, await app.inject({ url: `${url}?site_id=${site.id}` }), 422);
    });
    t.test('422 for a site id that is not a UUID', async (t) => {
      assertError(t, await app.inject({ url: '/sites/abc/flavors' }), 422);
    });
    t.test('422 for bad pagination and dates', async (t) => {
      assertError(t, await app.inject({ url: `${url}?per_page=1000` }), 422);
      assertError(t, await app.inject({ url: `${url}?upload_after=2021-13-01` }), 422);
      assertError(t, await app.inject({ url: `${url}?status=all` }), 422);
    });
  });

  t.test('SearchFlavor GET /sites/{site_id}/flavors:search', async (t) => {
    const site = await seed.site();
    const elsewhere = await seed.site();
    const hpc = await seed.flavor(site.id, { name: 'hpc.8core-16ram', description: 'HPC node' });
    const gpu = await seed.flavor(site.id, { name: 'gpu.large', description: '100% GPU, no_cpu' });
    const small = await seed.flavor(site.id, { name: 'small', description: 'a small VM' });
    const pending = await seed.flavor(site.id, { name: 'hpc.pending', status: 'on_review' });
    await seed.flavor(elsewhere.id, { name: 'hpc.8core-16ram', description: 'HPC node' });
    const url = `/sites/${site.id}/flavors:search`;
    const search = (q: string) => list(`${url}?${q}`).then(ids);

    t.test('200 every term must match, in name or description, within this site', async (t) => {
      t.same(await search('terms=hpc&terms=16ram'), [hpc.id]);
      t.same(await search('terms=hpc&terms=GPU'), [], 'one missing term: no match');
      t.same(await search('terms=node'), [hpc.id], 'description');
      t.same(await search('terms=large&terms=GPU'), [gpu.id], 'name and description');
    });
    t.test('200 without terms every approved flavor of the site', async (t) => {
      t.same(await search(''), [gpu.id, hpc.id, small.id]);
    });
    t.test('200 terms are case-sensitive', async (t) => {
      t.same(await search('terms=HPC'), [hpc.id]);
      t.same(await search('terms=Small'), []);
    });
    t.test('200 % and _ are literal characters', async (t) => {
      t.same(await search(`terms=${encodeURIComponent('%')}`), [gpu.id]);
      t.same(await search(`terms=${encodeURIComponent('0% G')}`), [gpu.id]);
      t.same(await search(`terms=${encodeURIComponent('1%U')}`), [], 'not a wildcard');
      t.same(await search('terms=_'), [gpu.id]);
      t.same(await search('terms=s_a'), [], 'not a wildcard (would match "small")');
    });
    t.test('200 both array forms', async (t) => {
      t.same(await search('terms[]=hpc&terms[]=16ram'), [hpc.id]);
      t.same(await search('terms%5B%5D=hpc&terms%5B%5D=node'), [hpc.id]);
      t.same(await search('terms[]=small'), [small.id]);
    });
    t.test('200 status=on_review', async (t) => {
      t.same(await search('terms=hpc&status=on_review'), [pending.id]);
    });
    t.test('200 pages and sorts the matches', async (t) => {
      const page = await list(`${url}?per_page=1&page=2&sort_by=-name`);
      assertPage(t, page, { total: 3, page: 2, pages: 3, per_page: 1, has_next: true, has_prev: true, next_num: 3, prev_num: 1 });
      t.same(ids(page), [hpc.id]);
    });
    t.test('200 filters by upload date', async (t) => {
      t.same(await search('upload_after=2099-01-01'), []);
      t.same(await search('upload_before=2099-01-01&terms=hpc'), [hpc.id]);
    });
    t.test('404 for an unknown site', async (t) => {
      assertError(t, await app.inject({ url: `/sites/${UNKNOWN_ID}/flavors:search?terms=hpc` }), 404);
    });
    t.test('422 for an unknown query parameter', async (t) => {
      assertError(t, await app.inject({ url: `${url}?terms=a&name=hpc` }), 422);
    });
    t.test('422 for a bad sort', async (t) => {
      assertError(t, await app.inject({ url: `${url}?sort_by=-description` }), 422);
    });
  });

  t.test('AddFlavor POST /sites/{site_id}/flavors', async (t) => {
    t.test('201 creates the flavor on review, with its submit', async (t) => {
      const site = await seed.site();
      const before = Date.now();
      const response = await app.inject({
        method: 'POST',
        url: `/sites/${site.id}/flavors`,
        headers: await headers(user),
        payload: { name: 'hpc.large', description: '64 cores' },
      });
      t.equal(response.statusCode, 201, response.body);
      const flavor = json<Flavor>(response);
      assertFlavor(t, flavor);
      t.match(flavor, { name: 'hpc.large', description: '64 cores', status: 'on_review' });
      t.ok(Date.parse(flavor.upload_datetime) >= before - 2000);
      const stored = await snapshot(flavor.id);
      t.match(stored, { site_id: site.id, name: 'hpc.large', description: '64 cores', status: 'on_review', ...seed.uploader() });
      t.equal(stored?.upload_datetime.toISOString(), flavor.upload_datetime);
      t.equal(stored?.submit?.resource_type, 'flavor');
      t.same(ids(await list(`/sites/${site.id}/flavors`)), [], 'not listed by default');
      t.same(ids(await list(`/sites/${site.id}/flavors?status=on_review`)), [flavor.id]);
    });
    t.test('201 the upload_datetime it answers is the one stored: the date filters agree with it', async (t) => {
      const site = await seed.site();
      const flavor = await addFlavor(site.id, { name: 'instant' });
      const at = Date.parse(flavor.upload_datetime);
      const around = (q: string) => list(`/sites/${site.id}/flavors?status=on_review&${q}`).then(ids);
      t.same(await around(`upload_after=${flavor.upload_datetime}`), [], 'not after itself');
      t.same(await around(`upload_before=${flavor.upload_datetime}`), [], 'not before itself');
      t.same(await around(`upload_after=${new Date(at - 1).toISOString()}`), [flavor.id]);
      t.same(await around(`upload_before=${new Date(at + 1).toISOString()}`), [flavor.id]);
      t.equal((await snapshot(flavor.id))?.submit?.upload_datetime.toISOString(), flavor.upload_datetime, 'submitted when uploaded');
    });
    t.test('201 without a description stores an empty one', async (t) => {
      const site = await seed.site();
      const flavor = await addFlavor(site.id, { name: 'plain' });
      t.equal(flavor.description, '');
      t.equal((await row(flavor.id))?.description, '');
    });
    t.test('201 the same name on another site is fine', async (t) => {
      const first = await seed.site();
      const second = await seed.site();
      const a = await addFlavor(first.id, { name: 'shared' });
      const b = await addFlavor(second.id, { name: 'shared' }, other);
      t.not(a.id, b.id);
      t.equal(await prisma.flavor.count({ where: { name: 'shared', site_id: { in: [first.id, second.id] } } }), 2);
    });
    t.test('201 on a site still on review', async (t) => {
      const site = await seed.site({ status: 'on_review' });
      const flavor = await addFlavor(site.id, { name: 'early' });
      t.equal((await row(flavor.id))?.site_id, site.id);
    });
    t.test('401 without a token, whatever the body', async (t) => {
      const site = await seed.site();
      assertError(t, await app.inject({ method: 'POST', url: `/sites/${site.id}/flavors`, payload: { name: 'x' } }), 401);
      assertError(t, await app.inject({ method: 'POST', url: `/sites/${site.id}/flavors`, payload: { name: 1 } }), 401);
      assertError(t, await app.inject({ method: 'POST', url: `/sites/${UNKNOWN_ID}/flavors`, payload: { name: 'x' } }), 401);
      t.equal(await prisma.flavor.count({ where: { site_id: site.id } }), 0);
    });
    t.test('403 for a token holder who is not registered', async (t) => {
      const site = await seed.site();
      assertError(
        t,
        await app.inject({
          method: 'POST',
          url: `/sites/${site.id}/flavors`,
          headers: await headers(unregistered),
          payload: { name: 'x' },
        }),
        403,
      );
      t.equal(await prisma.flavor.count({ where: { site_id: site.id } }), 0);
    });
    t.test('404 for an unknown site, and nothing is stored', async (t) => {
      const flavors = await prisma.flavor.count();
      const submits = await prisma.submit.count();
      const response = await app.inject({
        method: 'POST',
        url: `/sites/${UNKNOWN_ID}/flavors`,
        headers: await headers(user),
        payload: { name: 'x' },
      });
      assertError(t, response, 404);
      t.equal(await prisma.flavor.count(), flavors);
      t.equal(await prisma.submit.count(), submits, 'no orphan submit');
    });
    t.test('409 for a name the site already has, approved or on review', async (t) => {
      const site = await seed.site();
      await seed.flavor(site.id, { name: 'taken' });
      await addFlavor(site.id, { name: 'pending' });
      const auth = await headers(other);
      const body = assertError(
        t,
        await app.inject({ method: 'POST', url: `/sites/${site.id}/flavors`, headers: auth, payload: { name: 'taken' } }),
        409,
      );
      t.match(body.message, /taken/);
      assertError(
        t,
        await app.inject({ method: 'POST', url: `/sites/${site.id}/flavors`, headers: auth, payload: { name: 'pending' } }),
        409,
      );
      t.equal(await prisma.flavor.count({ where: { site_id: site.id } }), 2);
      t.equal(await prisma.submit.count({ where: { flavor: { site_id: site.id } } }), 1);
    });
    t.test('409 for all but one of 20 concurrent identical creations', async (t) => {
      const site = await seed.site();
      const auth = await headers(user);
      const responses = await Promise.all(
        Array.from({ length: 20 }, () =>
          app.inject({ method: 'POST', url: `/sites/${site.id}/flavors`, headers: auth, payload: { name: 'race' } }),
        ),
      );
      const codes = responses.map((r) => r.statusCode).sort();
      t.same(
        codes,
        [201, ...Array.from({ length: 19 }, () => 409)],
        JSON.stringify(responses.filter((r) => r.statusCode >= 500).map((r) => r.body)),
      );
      t.equal(await prisma.flavor.count({ where: { site_id: site.id } }), 1, 'one row');
      t.equal(await prisma.submit.count({ where: { flavor: { site_id: site.id } } }), 1, 'one submit');
      t.equal(await prisma.submit.count({ where: { resource_type: 'flavor', flavor_id: null } }), 0, 'no orphan submit');
    });
    const invalid: [string, unknown][] = [
      ['a name that is not a string', { name: 5 }],
      ['a description that is not a string', { name: 'n', description: 7 }],
      ['an unknown field', { name: 'n', site_id: UNKNOWN_ID }],
      ['a read-only field', { name: 'n', status: 'approved' }],
      ['no name', { description: 'd' }],
      ['an empty name', { name: '' }],
      ['a name over 256 characters', { name: 'n'.repeat(257) }],
      ['a description over 4096 characters', { name: 'n', description: 'd'.repeat(4097) }],
    ];
    for (const [label, payload] of invalid) {
      t.test(`422 for ${label}`, async (t) => {
        const site = await seed.site();
        const response = await app.inject({
          method: 'POST',
          url: `/sites/${site.id}/flavors`,
          headers: await headers(user),
          payload: payload as object,
        });
        assertError(t, response, 422);
        t.equal(await prisma.flavor.count({ where: { site_id: site.id } }), 0, 'nothing stored');
      });
    }
    t.test('422 for a site id that is not a UUID', async (t) => {
      assertError(
        t,
        await app.inject({ method: 'POST', url: '/sites/xyz/flavors', headers: await headers(user), payload: { name: 'n' } }),
        422,
      );
    });
    t.test('400 for a body that is not JSON', async (t) => {
      const site = await seed.site();
      const response = await app.inject({
        method: 'POST',
        url: `/sites/${site.id}/flavors`,
        headers: { ...(await headers(user)), 'content-type': 'application/json' },
        payload: '{name: x}',
      });
      assertError(t, response, 400);
    });
  });

  t.test('NUL characters are a 422, never a 500', async (t) => {
    const site = await seed.site();
    const create = await app.inject({
      method: 'POST',
      url: `/sites/${site.id}/flavors`,
      headers: await headers(user),
      payload: { name: 'a\u0000' },
    });
    t.equal(create.statusCode, 422, `create: ${create.body}`);
    t.equal(await prisma.flavor.count({ where: { site_id: site.id } }), 0, 'nothing stored');
    const search = await app.inject({ url: `/sites/${site.id}/flavors:search?terms=%00` });
    t.equal(search.statusCode, 422, `search: ${search.body}`);
  });

  t.test('GetFlavor GET /flavors/{flavor_id}', async (t) => {
    t.test('200 returns an approved flavor, without a token', async (t) => {
      const site = await seed.site();
      const stored = await seed.flavor(site.id, { description: 'desc' });
      const response = await app.inject({ url: `/flavors/${stored.id}` });
      t.equal(response.statusCode, 200, response.body);
      const flavor = json<Flavor>(response);
      assertFlavor(t, flavor);
      t.same(flavor, {
        id: stored.id,
        upload_datetime: stored.upload_datetime.toISOString(),
        name: stored.name,
        description: 'desc',
        status: 'approved',
      });
    });
    t.test('200 returns a flavor on review too', async (t) => {
      const site = await seed.site();
      const stored = await seed.flavor(site.id, { status: 'on_review' });
      t.equal(json<Flavor>(await app.inject({ url: `/flavors/${stored.id}` })).status, 'on_review');
    });
    t.test('404 for an unknown id', async (t) => {
      assertError(t, await app.inject({ url: `/flavors/${UNKNOWN_ID}` }), 404);
    });
    t.test('422 for an id that is not a UUID', async (t) => {
      assertError(t, await app.inject({ url: '/flavors/12' }), 422);
    });
  });

  t.test('GetFlavorSite GET /flavors/{flavor_id}/site', async (t) => {
    t.test('200 returns the site of the flavor', async (t) => {
      const site = await seed.site();
      const flavor = await seed.flavor(site.id);
      const response = await app.inject({ url: `/flavors/${flavor.id}/site` });
      t.equal(response.statusCode, 200, response.body);
      const body = json<Site>(response);
      t.same(Object.keys(body).sort(), SITE_KEYS);
      t.same(body, {
        id: site.id,
        upload_datetime: site.upload_datetime.toISOString(),
        name: site.name,
        address: site.address,
        description: site.description,
        status: 'approved',
      });
    });
    t.test('200 for a flavor on review of a site on review', async (t) => {
      const site = await seed.site({ status: 'on_review' });
      const flavor = await seed.flavor(site.id, { status: 'on_review' });
      const body = json<Site>(await app.inject({ url: `/flavors/${flavor.id}/site` }));
      t.equal(body.id, site.id);
      t.equal(body.status, 'on_review');
    });
    t.test('404 for an unknown flavor', async (t) => {
      assertError(t, await app.inject({ url: `/flavors/${UNKNOWN_ID}/site` }), 404);
    });
    t.test('422 for an id that is not a UUID', async (t) => {
      assertError(t, await app.inject({ url: '/flavors/zz/site' }), 422);
    });
  });

  t.test('UpdateFlavor PUT /flavors/{flavor_id}', async (t) => {
    t.test('204 replaces name and description', async (t) => {
      const site = await seed.site();
      const stored = await seed.flavor(site.id, { description: 'old' });
      const response = await app.inject({
        method: 'PUT',
        url: `/flavors/${stored.id}`,
        headers: await headers(admin),
        payload: { name: 'renamed', description: 'new' },
      });
      t.equal(response.statusCode, 204, response.body);
      t.equal(response.body, '');
      const after = await row(stored.id);
      t.match(after, { name: 'renamed', description: 'new', status: 'approved', site_id: site.id });
      t.equal(after?.upload_datetime.toISOString(), stored.upload_datetime.toISOString());
    });
    t.test('204 takes the flavor as read from GET, read-only fields ignored', async (t) => {
      const site = await seed.site();
      const created = await addFlavor(site.id, { name: 'roundtrip', description: 'd' });
      const read = json<Flavor>(await app.inject({ url: `/flavors/${created.id}` }));
      const response = await app.inject({
        method: 'PUT',
        url: `/flavors/${created.id}`,
        headers: await headers(admin),
        payload: { ...read, description: 'e' },
      });
      t.equal(response.statusCode, 204, response.body);
      t.same(json<Flavor>(await app.inject({ url: `/flavors/${created.id}` })), { ...read, description: 'e' });
      t.ok((await snapshot(created.id))?.submit, 'still on review with its submit');
    });
    t.test('204 a different status sent back is ignored', async (t) => {
      const site = await seed.site();
      const created = await addFlavor(site.id, { name: 'sneaky' });
      const response = await app.inject({
        method: 'PUT',
        url: `/flavors/${created.id}`,
        headers: await headers(admin),
        payload: { name: 'sneaky', status: 'approved' },
      });
      t.equal(response.statusCode, 204, response.body);
      t.equal((await row(created.id))?.status, 'on_review');
    });
    t.test('204 the name of a flavor of another site is fine', async (t) => {
      const first = await seed.site();
      const second = await seed.site();
      await seed.flavor(first.id, { name: 'common' });
      const mine = await seed.flavor(second.id, { name: 'mine' });
      const response = await app.inject({
        method: 'PUT',
        url: `/flavors/${mine.id}`,
        headers: await headers(admin),
        payload: { name: 'common' },
      });
      t.equal(response.statusCode, 204, response.body);
      t.equal((await row(mine.id))?.name, 'common');
    });
    t.test('401 without a token', async (t) => {
      const stored = await seed.flavor((await seed.site()).id);
      assertError(t, await app.inject({ method: 'PUT', url: `/flavors/${stored.id}`, payload: { name: 'x' } }), 401);
      t.same(await row(stored.id), stored);
    });
    t.test('403 for a user', async (t) => {
      const stored = await seed.flavor((await seed.site()).id);
      assertError(
        t,
        await app.inject({ method: 'PUT', url: `/flavors/${stored.id}`, headers: await headers(user), payload: { name: 'x' } }),
        403,
      );
      t.same(await row(stored.id), stored);
    });
    t.test('404 for an unknown flavor', async (t) => {
      assertError(
        t,
        await app.inject({ method: 'PUT', url: `/flavors/${UNKNOWN_ID}`, headers: await headers(admin), payload: { name: 'x' } }),
        404,
      );
    });
    t.test('409 for the name of another flavor of the same site', async (t) => {
      const site = await seed.site();
      await seed.flavor(site.id, { name: 'first' });
      const second = await seed.flavor(site.id, { name: 'second' });
      const response = await app.inject({
        method: 'PUT',
        url: `/flavors/${second.id}`,
        headers: await headers(admin),
        payload: { name: 'first' },
      });
      assertError(t, response, 409);
      t.same(await row(second.id), second, 'unchanged');
    });
    const invalid: [string, unknown][] = [
      ['a name that is not a string', { name: ['x'] }],
      ['an unknown field', { name: 'x', site_id: UNKNOWN_ID }],
      ['no name', { description: 'x' }],
      ['an upload_datetime that is not a date-time', { name: 'x', upload_datetime: 'yesterday' }],
    ];
    for (const [label, payload] of invalid) {
      t.test(`422 for ${label}`, async (t) => {
        const stored = await seed.flavor((await seed.site()).id);
        assertError(
          t,
          await app.inject({ method: 'PUT', url: `/flavors/${stored.id}`, headers: await headers(admin), payload: payload as object }),
          422,
        );
        t.same(await row(stored.id), stored, 'unchanged');
      });
    }
  });

  /** A benchmark and a result on `flavor`, stored directly. */
  async function seedResult(flavor: { id: string; site_id: string }) {
    const benchmark = await seed.benchmark({ docker_tag: 'v1' });
    return seed.result(benchmark.id, flavor, { json: { score: 1 } });
  }

  t.test('DeleteFlavor DELETE /flavors/{flavor_id}', async (t) => {
    t.test('204 deletes the flavor and its results; the site and its other flavors stay', async (t) => {
      const site = await seed.site();
      const doomed = await seed.flavor(site.id);
      const kept = await seed.flavor(site.id);
      const gone = await seedResult(doomed);
      const stays = await seedResult(kept);
      const response = await app.inject({ method: 'DELETE', url: `/flavors/${doomed.id}`, headers: await headers(admin) });
      t.equal(response.statusCode, 204, response.body);
      t.equal(response.body, '');
      t.equal(await prisma.flavor.count({ where: { id: doomed.id } }), 0);
      t.equal(await prisma.result.count({ where: { id: gone.id } }), 0, 'its results');
      t.equal(await prisma.result.count({ where: { id: stays.id } }), 1);
      t.equal(await prisma.flavor.count({ where: { id: kept.id } }), 1);
      t.equal(await prisma.site.count({ where: { id: site.id } }), 1);
    });
    t.test('204 deletes a flavor on review with its submit', async (t) => {
      const site = await seed.site();
      const created = await addFlavor(site.id, { name: 'pending' });
      t.equal((await app.inject({ method: 'DELETE', url: `/flavors/${created.id}`, headers: await headers(admin) })).statusCode, 204);
      t.equal(await prisma.flavor.count({ where: { id: created.id } }), 0);
      t.equal(await prisma.submit.count({ where: { flavor_id: created.id } }), 0);
    });
    t.test('401 without a token', async (t) => {
      const stored = await seed.flavor((await seed.site()).id);
      assertError(t, await app.inject({ method: 'DELETE', url: `/flavors/${stored.id}` }), 401);
      t.equal(await prisma.flavor.count({ where: { id: stored.id } }), 1);
    });
    t.test('403 for a user, even the uploader', async (t) => {
      const created = await addFlavor((await seed.site()).id, { name: 'mine' });
      assertError(t, await app.inject({ method: 'DELETE', url: `/flavors/${created.id}`, headers: await headers(user) }), 403);
      t.equal(await prisma.flavor.count({ where: { id: created.id } }), 1);
    });
    t.test('404 for an unknown flavor', async (t) => {
      assertError(t, await app.inject({ method: 'DELETE', url: `/flavors/${UNKNOWN_ID}`, headers: await headers(admin) }), 404);
    });
    t.test('422 for an id that is not a UUID', async (t) => {
      assertError(t, await app.inject({ method: 'DELETE', url: '/flavors/1', headers: await headers(admin) }), 422);
    });
  });

  t.test('ApproveFlavor POST /flavors/{flavor_id}:approve', async (t) => {
    t.test('204 approves: listed by default, submit closed', async (t) => {
      const site = await seed.site();
      const created = await addFlavor(site.id, { name: 'approve' });
      const response = await app.inject({ method: 'POST', url: `/flavors/${created.id}:approve`, headers: await headers(admin) });
      t.equal(response.statusCode, 204, response.body);
      t.equal(response.body, '');
      const stored = await snapshot(created.id);
      t.equal(stored?.status, 'approved');
      t.equal(stored?.submit, null);
      t.same(ids(await list(`/sites/${site.id}/flavors`)), [created.id]);
    });
    t.test('204 with a form Content-Type and no body', async (t) => {
      const created = await addFlavor((await seed.site()).id, { name: 'form' });
      const response = await app.inject({
        method: 'POST',
        url: `/flavors/${created.id}:approve`,
        headers: { ...(await headers(admin)), 'content-type': FORM },
      });
      t.equal(response.statusCode, 204, response.body);
    });
    t.test('401 without a token', async (t) => {
      const created = await addFlavor((await seed.site()).id, { name: 'anon' });
      assertError(t, await app.inject({ method: 'POST', url: `/flavors/${created.id}:approve` }), 401);
      t.match(await snapshot(created.id), { status: 'on_review', submit: { resource_type: 'flavor' } });
    });
    t.test('403 for a user', async (t) => {
      const created = await addFlavor((await seed.site()).id, { name: 'user' });
      assertError(t, await app.inject({ method: 'POST', url: `/flavors/${created.id}:approve`, headers: await headers(user) }), 403);
      t.match(await snapshot(created.id), { status: 'on_review', submit: { resource_type: 'flavor' } });
    });
    t.test('404 for an unknown flavor', async (t) => {
      assertError(t, await app.inject({ method: 'POST', url: `/flavors/${UNKNOWN_ID}:approve`, headers: await headers(admin) }), 404);
    });
    t.test('422 for a flavor already approved', async (t) => {
      const stored = await seed.flavor((await seed.site()).id);
      assertError(t, await app.inject({ method: 'POST', url: `/flavors/${stored.id}:approve`, headers: await headers(admin) }), 422);
      t.same(await row(stored.id), stored);
    });
  });

  t.test('RejectFlavor POST /flavors/{flavor_id}:reject', async (t) => {
    t.test('204 deletes the flavor on review and its submit; the site stays', async (t) => {
      const site = await seed.site();
      const created = await addFlavor(site.id, { name: 'reject' });
      const response = await app.inject({ method: 'POST', url: `/flavors/${created.id}:reject`, headers: await headers(admin) });
      t.equal(response.statusCode, 204, response.body);
      t.equal(response.body, '');
      t.equal(await prisma.flavor.count({ where: { id: created.id } }), 0);
      t.equal(await prisma.submit.count({ where: { flavor_id: created.id } }), 0);
      t.equal(await prisma.site.count({ where: { id: site.id } }), 1);
      assertError(t, await app.inject({ url: `/flavors/${created.id}` }), 404);
    });
    t.test('204 with a form Content-Type and no body', async (t) => {
      const created = await addFlavor((await seed.site()).id, { name: 'form' });
      const response = await app.inject({
        method: 'POST',
        url: `/flavors/${created.id}:reject`,
        headers: { ...(await headers(admin)), 'content-type': FORM },
      });
      t.equal(response.statusCode, 204, response.body);
    });
    t.test('401 without a token', async (t) => {
      const created = await addFlavor((await seed.site()).id, { name: 'anon' });
      assertError(t, await app.inject({ method: 'POST', url: `/flavors/${created.id}:reject` }), 401);
      t.ok((await snapshot(created.id))?.submit);
    });
    t.test('403 for a user', async (t) => {
      const created = await addFlavor((await seed.site()).id, { name: 'user' });
      assertError(t, await app.inject({ method: 'POST', url: `/flavors/${created.id}:reject`, headers: await headers(user) }), 403);
      t.ok((await snapshot(created.id))?.submit);
    });
    t.test('404 for an unknown flavor', async (t) => {
      assertError(t, await app.inject({ method: 'POST', url: `/flavors/${UNKNOWN_ID}:reject`, headers: await headers(admin) }), 404);
    });
    t.test('422 for an approved flavor, which stays', async (t) => {
      const stored = await seed.flavor((await seed.site()).id);
      assertError(t, await app.inject({ method: 'POST', url: `/flavors/${stored.id}:reject`, headers: await headers(admin) }), 422);
      t.same(await row(stored.id), stored);
    });
  });

  t.test('integrity: no flavor on review without its submit, no submit without its flavor', async (t) => {
    t.equal(await prisma.flavor.count({ where: { status: 'on_review', submit: null } }), 0);
    t.equal(await prisma.flavor.count({ where: { status: 'approved', submit: { isNot: null } } }), 0);
    t.equal(await prisma.submit.count({ where: { resource_type: 'flavor', flavor_id: null } }), 0);
  });
});
