// The `sites` tag, operation by operation, one named case per status code,
// with what the database holds after each call (and that refused calls change nothing).
import t from 'tap';
import { adminPersona, eachDatabase, json, persona, type Persona, type Test as Tap, type TestContext } from './helpers/app.js';
import { assertCatalogItem, assertError, assertPage, ids } from './helpers/assertions.js';
import { SITE_KEYS, type ErrorBody, type Site, type Sites } from './helpers/contract.js';
import { FORM, fetchPage, UNKNOWN_ID, unique } from './helpers/fixtures.js';
import { seeder } from './helpers/seed.js';

function assertSite(t: Tap, site: Site): void {
  assertCatalogItem(t, site, SITE_KEYS, 'Site');
}

const names = (page: Sites): string[] => page.items.map((s) => s.name);

eachDatabase(t, async (t, ctx: TestContext) => {
  const { app } = ctx;
  const prisma = ctx.db.prisma;
  const admin = adminPersona('sites-admin');
  const user = persona('sites-user');
  const other = persona('sites-other');
  const unregistered = persona('sites-unregistered');
  const unregisteredAdmin = adminPersona('sites-unregistered-admin');
  await ctx.register(admin);
  await ctx.register(user);
  await ctx.register(other);
  const headers = (p: Persona) => ctx.auth(p);
  const seed = seeder(ctx, user);

  async function createSite(body: Record<string, unknown>, who: Persona = user): Promise<Site> {
    const response = await app.inject({ method: 'POST', url: '/sites', headers: await headers(who), payload: body });
    if (response.statusCode !== 201) throw new Error(`create site: ${response.statusCode} ${response.body}`);
    return json<Site>(response);
  }

  const list = (url: string) => fetchPage<Site>(app, url);

  async function snapshot(id: string) {
    return prisma.site.findUnique({ where: { id }, include: { submit: true } });
  }

  t.test('ListSites GET /sites', async (t) => {
    const address = unique('addr');
    const a = await seed.site({ name: `${address}b`, address });
    const b = await seed.site({ name: `${address}a`, address });
    const pending = await seed.site({ name: `${address}c`, address, status: 'on_review' });

    t.test('200 lists only approved sites by default, sorted by +name, without a token', async (t) => {
      const response = await app.inject({ url: `/sites?address=${address}` });
      t.equal(response.statusCode, 200, response.body);
      t.match(String(response.headers['content-type']), /^application\/json/);
      const page = json<Sites>(response);
      assertPage(t, page, { total: 2, page: 1, pages: 1, per_page: 100, has_next: false, has_prev: false, next_num: null, prev_num: null });
      t.same(ids(page), [b.id, a.id]);
      for (const site of page.items) assertSite(t, site);
      t.same(page.items[0], {
        id: b.id,
        upload_datetime: b.upload_datetime.toISOString(),
        name: b.name,
        address,
        description: '',
        status: 'approved',
      });
    });

    t.test('200 status=approved is the default', async (t) => {
      t.same(ids(await list(`/sites?address=${address}&status=approved`)), [b.id, a.id]);
    });

    t.test('200 status=on_review lists the sites waiting for review', async (t) => {
      const page = await list(`/sites?address=${address}&status=on_review`);
      t.same(ids(page), [pending.id]);
      t.equal(page.items[0]?.status, 'on_review');
    });

    t.test('200 filters by exact name', async (t) => {
      t.same(ids(await list(`/sites?name=${a.name}`)), [a.id]);
      t.same(ids(await list(`/sites?name=${address}`)), [], 'a prefix is not a match');
      t.same(ids(await list(`/sites?name=${pending.name}`)), [], 'on review: not by default');
      t.same(ids(await list(`/sites?name=${pending.name}&status=on_review`)), [pending.id]);
    });

    t.test('200 filters by exact address', async (t) => {
      t.same(ids(await list(`/sites?address=${address.slice(0, -1)}`)), [], 'a prefix is not a match');
      t.same(ids(await list(`/sites?address=${encodeURIComponent(address)}&name=${b.name}`)), [b.id], 'filters combine');
    });

    t.test('200 with an empty page when nothing matches', async (t) => {
      const page = await list(`/sites?name=${unique('nothing')}`);
      assertPage(t, page, { items: [], total: 0, page: 1, pages: 0, has_next: false, has_prev: false, next_num: null, prev_num: null });
    });

    t.test('200 pages with the envelope, and a page past the end is empty', async (t) => {
      const where = unique('pages');
      const seeded = [];
      for (const letter of ['a', 'b', 'c', 'd', 'e']) seeded.push(await seed.site({ name: `${where}${letter}`, address: where }));
      const first = await list(`/sites?address=${where}&per_page=2`);
      assertPage(t, first, { total: 5, page: 1, pages: 3, per_page: 2, has_next: true, has_prev: false, next_num: 2, prev_num: null });
      t.same(ids(first), [seeded[0]!.id, seeded[1]!.id]);
      const second = await list(`/sites?address=${where}&per_page=2&page=2`);
      assertPage(t, second, { total: 5, page: 2, pages: 3, per_page: 2, has_next: true, has_prev: true, next_num: 3, prev_num: 1 });
      t.same(ids(second), [seeded[2]!.id, seeded[3]!.id]);
      const last = await list(`/sites?address=${where}&per_page=2&page=3`);
      assertPage(t, last, { total: 5, page: 3, pages: 3, has_next: false, has_prev: true, next_num: null, prev_num: 2 });
      t.same(ids(last), [seeded[4]!.id]);
      const past = await list(`/sites?address=${where}&per_page=2&page=9`);
      assertPage(t, past, { items: [], total: 5, page: 9, pages: 3, has_next: false, next_num: null });
    });

    t.test('200 sorts by every allowed field, both ways, and by several fields', async (t) => {
      const where = unique('sort');
      // name order: a < b < c; address order: y < z; upload order: c, a, b; ids random.
      const s1 = await seed.site({
        name: `${where}b`,
        address: `${where}z`,
        description: where,
        upload_datetime: new Date('2021-03-01T00:00:00Z'),
      });
      const s2 = await seed.site({
        name: `${where}c`,
        address: `${where}y`,
        description: where,
        upload_datetime: new Date('2021-01-01T00:00:00Z'),
      });
      const s3 = await seed.site({
        name: `${where}a`,
        address: `${where}z`,
        description: where,
        upload_datetime: new Date('2021-02-01T00:00:00Z'),
      });
      const all = [s1, s2, s3];
      const order = async (sortBy: string) => ids(await list(`/sites:search?terms=${where}&sort_by=${encodeURIComponent(sortBy)}`));
      t.same(await order('+name'), [s3.id, s1.id, s2.id]);
      t.same(await order('-name'), [s2.id, s1.id, s3.id]);
      t.same(await order('+upload_datetime'), [s2.id, s3.id, s1.id]);
      t.same(await order('-upload_datetime'), [s1.id, s3.id, s2.id]);
      const byId = [...all].sort((x, y) => (x.id < y.id ? -1 : 1)).map((s) => s.id);
      t.same(await order('+id'), byId);
      t.same(await order('-id'), [...byId].reverse());
      t.same(await order('+address,-name'), [s2.id, s1.id, s3.id]);
      t.same(await order('+address,+name'), [s2.id, s3.id, s1.id]);
      t.same(await order('-address,+upload_datetime'), [s3.id, s1.id, s2.id]);
      // The same through GET /sites: the default is +name.
      const listed = await list(`/sites?sort_by=${encodeURIComponent('-address')}&address=${where}z`);
      t.same(ids(listed), [s3.id, s1.id].sort(), 'ties broken by id');
    });

    t.test('200 filters by upload date', async (t) => {
      const where = unique('dates');
      const old = await seed.site({ name: `${where}a`, address: where, upload_datetime: new Date('2020-01-01T00:00:00Z') });
      const mid = await seed.site({ name: `${where}b`, address: where, upload_datetime: new Date('2021-06-15T12:00:00Z') });
      const recent = await seed.site({ name: `${where}c`, address: where, upload_datetime: new Date('2022-12-31T23:59:59Z') });
      const at = (q: string) => list(`/sites?address=${where}&${q}`).then(ids);
      t.same(await at('upload_after=2021-01-01'), [mid.id, recent.id]);
      t.same(await at('upload_before=2021-01-01'), [old.id]);
      t.same(await at('upload_after=2021-01-01&upload_before=2022-01-01'), [mid.id]);
      t.same(await at('upload_before=2021-06-15T12:00:00Z'), [old.id], 'before is strict');
      t.same(await at('upload_after=2021-06-15T12:00:00Z'), [recent.id], 'after is strict');
      t.same(await at(`upload_after=${encodeURIComponent('2021-06-15T13:00:00+02:00')}`), [mid.id, recent.id], 'offsets are honoured');
      t.same(await at('upload_after=2021-06-15T11:00:00'), [mid.id, recent.id], 'no zone is UTC');
      t.same(await at(`upload_after=${encodeURIComponent('2021-06-15T14:00:00+0200')}`), [recent.id], 'offset without colon');
      t.same(
        await at(`upload_after=${encodeURIComponent('2021-06-15T14:00:00+02')}`),
        [recent.id],
        "an offset of hours only (the spec's pattern allows it)",
      );
      t.same(await at(`upload_before=${encodeURIComponent('2021-06-15T07:00:00-05')}`), [old.id], 'a negative offset of hours only');
      t.same(await at('upload_after=2030-01-01'), []);
    });

    t.test('401 never: a public operation needs no token', async (t) => {
      const response = await app.inject({ url: `/sites?address=${address}` });
      t.equal(response.statusCode, 200);
    });

    t.test('422 for an unknown sort field', async (t) => {
      const body = assertError(t, await app.inject({ url: '/sites?sort_by=%2Bdescription' }), 422);
      t.match(body.message, /description/);
    });
    t.test('422 for a sort field without its sign', async (t) => {
      assertError(t, await app.inject({ url: '/sites?sort_by=name' }), 422);
      assertError(t, await app.inject({ url: '/sites?sort_by=%2Bname,' }), 422);
    });
    t.test('200 for an unencoded + (it arrives as a space, and meant ascending)', async (t) => {
      const response = await app.inject({ url: '/sites?sort_by=+name' });
      t.equal(response.statusCode, 200, response.body);
    });
    t.test('422 for an unknown query parameter', async (t) => {
      const body = assertError(t, await app.inject({ url: '/sites?colour=blue' }), 422);
      t.match(JSON.stringify(body.errors), /colour/);
    });
    t.test('422 for a status that does not exist', async (t) => {
      assertError(t, await app.inject({ url: '/sites?status=rejected' }), 422);
    });
    t.test('422 for pagination out of range', async (t) => {
      assertError(t, await app.inject({ url: '/sites?per_page=0' }), 422);
      assertError(t, await app.inject({ url: '/sites?per_page=101' }), 422);
      assertError(t, await app.inject({ url: '/sites?page=0' }), 422);
      assertError(t, await app.inject({ url: '/sites?page=two' }), 422);
    });
    t.test('422 for a date that is not one', async (t) => {
      assertError(t, await app.inject({ url: '/sites?upload_before=2021-02-30' }), 422);
      assertError(t, await app.inject({ url: '/sites?upload_after=yesterday' }), 422);
    });
  });

  t.test('SearchSites GET /sites:search', async (t) => {
    const m = unique('search');
    const kit = await seed.site({ name: `${m} KIT`, address: 'Karlsruhe, Germany', description: 'HPC at KIT' });
    const cesnet = await seed.site({ name: `${m} CESNET`, address: 'Brno, Czech Republic', description: 'cloud' });
    const percent = await seed.site({ name: `${m} percent`, address: 'x', description: '100% cloud' });
    const underscore = await seed.site({ name: `${m} under_score`, address: 'x', description: 'hpc' });
    const backslash = await seed.site({ name: `${m} back\\slash`, address: 'x', description: '' });
    const pending = await seed.site({ name: `${m} pending`, address: 'Karlsruhe', description: '', status: 'on_review' });
    const search = (q: string) => list(`/sites:search?terms=${encodeURIComponent(m)}&${q}`).then(ids);

    t.test('200 every term must match, each in any of name, address, description', async (t) => {
      t.same(await search('terms=Karlsruhe'), [kit.id], 'address');
      t.same(await search('terms=HPC'), [kit.id], 'description');
      t.same(await search('terms=CESNET&terms=Brno'), [cesnet.id], 'name and address');
      t.same(await search('terms=CESNET&terms=Karlsruhe'), [], 'one term missing: no match');
      t.same(await search('terms=cloud').then((found) => [...found].sort()), [cesnet.id, percent.id].sort(), 'several items');
    });

    t.test('200 without terms every item matches', async (t) => {
      const page = await list('/sites:search');
      t.ok(page.total >= 5);
      t.ok(ids(page).includes(kit.id));
    });

    t.test('200 terms are case-sensitive', async (t) => {
      t.same(await search('terms=hpc'), [underscore.id]);
      t.same(await search('terms=HPC'), [kit.id]);
      t.same(await search('terms=karlsruhe'), []);
    });

    t.test('200 % and _ are literal characters', async (t) => {
      t.same(await search(`terms=${encodeURIComponent('%')}`), [percent.id]);
      t.same(await search(`terms=${encodeURIComponent('0%')}`), [percent.id]);
      t.same(await search(`terms=${encodeURIComponent('0%c')}`), [], 'no wildcard for any string');
      t.same(await search('terms=_'), [underscore.id]);
      t.same(await search('terms=r_s'), [underscore.id]);
      t.same(await search('terms=d_r'), [], 'no wildcard for one character (would match "under")');
      t.same(await search(`terms=${encodeURIComponent('\\')}`), [backslash.id], 'a backslash is literal too');
      t.same(await search(`terms=${encodeURIComponent('k\\s')}`), [backslash.id]);
    });

    t.test('200 both array forms: terms=a&terms=b and terms[]=a&terms[]=b', async (t) => {
      const bracket = await list(`/sites:search?terms[]=${encodeURIComponent(m)}&terms[]=Brno`);
      t.same(ids(bracket), [cesnet.id]);
      const encoded = await list(`/sites:search?terms%5B%5D=${encodeURIComponent(m)}&terms%5B%5D=Brno`);
      t.same(ids(encoded), [cesnet.id], 'URL-encoded brackets');
      const single = await list(`/sites:search?terms[]=${encodeURIComponent(`${m} CESNET`)}`);
      t.same(ids(single), [cesnet.id], 'one bracketed term');
    });

    t.test('200 searches sites on review with status=on_review', async (t) => {
      t.same(await search('terms=Karlsruhe&status=on_review'), [pending.id]);
      t.same(await search('terms=pending'), [], 'not by default');
    });

    t.test('200 pages and sorts the matches', async (t) => {
      const page = await list(`/sites:search?terms=${encodeURIComponent(m)}&per_page=2&page=2&sort_by=-name`);
      assertPage(t, page, { total: 5, page: 2, pages: 3, per_page: 2, has_next: true, has_prev: true, next_num: 3, prev_num: 1 });
      const all = await list(`/sites:search?terms=${encodeURIComponent(m)}&sort_by=-name`);
      t.same(ids(page), ids(all).slice(2, 4));
      t.same(names(all), [...names(all)].sort().reverse());
    });

    t.test('200 filters by upload date', async (t) => {
      t.same(await search('upload_after=2100-01-01'), []);
      t.equal((await search('upload_before=2100-01-01')).length, 5);
    });

    t.test('422 for an unknown query parameter', async (t) => {
      assertError(t, await app.inject({ url: '/sites:search?terms=a&term=b' }), 422);
      assertError(t, await app.inject({ url: '/sites:search?name=a' }), 422); // name is a list filter, not a search one
    });
    t.test('422 for a bad sort', async (t) => {
      assertError(t, await app.inject({ url: '/sites:search?sort_by=%2Bstatus' }), 422);
      assertError(t, await app.inject({ url: '/sites:search?sort_by=id' }), 422);
    });
    t.test('422 for a term longer than 256 characters', async (t) => {
      assertError(t, await app.inject({ url: `/sites:search?terms=${'x'.repeat(257)}` }), 422);
    });
  });

  t.test('GetSite GET /sites/{site_id}', async (t) => {
    t.test('200 returns an approved site, without a token', async (t) => {
      const row = await seed.site({ description: 'described' });
      const response = await app.inject({ url: `/sites/${row.id}` });
      t.equal(response.statusCode, 200, response.body);
      const site = json<Site>(response);
      assertSite(t, site);
      t.same(site, {
        id: row.id,
        upload_datetime: row.upload_datetime.toISOString(),
        name: row.name,
        address: row.address,
        description: 'described',
        status: 'approved',
      });
    });
    t.test('200 returns a site on review too', async (t) => {
      const row = await seed.site({ status: 'on_review' });
      const response = await app.inject({ url: `/sites/${row.id}` });
      t.equal(response.statusCode, 200, response.body);
      t.equal(json<Site>(response).status, 'on_review');
    });
    t.test('404 for an unknown id', async (t) => {
      assertError(t, await app.inject({ url: `/sites/${UNKNOWN_ID}` }), 404);
    });
    t.test('422 for an id that is not a UUID', async (t) => {
      assertError(t, await app.inject({ url: '/sites/not-a-uuid' }), 422);
    });
    t.test('404 for a custom method that does not exist, never a parameter', async (t) => {
      const row = await seed.site({});
      assertError(t, await app.inject({ url: `/sites/${row.id}:details` }), 404);
      assertError(t, await app.inject({ url: '/sites:list' }), 404);
    });
    t.test('422 for an unknown query parameter', async (t) => {
      const row = await seed.site({});
      assertError(t, await app.inject({ url: `/sites/${row.id}?verbose=1` }), 422);
    });
  });

  t.test('CreateSite POST /sites', async (t) => {
    t.test('201 creates the site on review, with its submit', async (t) => {
      const name = unique('create');
      const before = Date.now();
      const response = await app.inject({
        method: 'POST',
        url: '/sites',
        headers: await headers(user),
        payload: { name, address: 'Karlsruhe', description: 'A site' },
      });
      t.equal(response.statusCode, 201, response.body);
      const site = json<Site>(response);
      assertSite(t, site);
      t.match(site, { name, address: 'Karlsruhe', description: 'A site', status: 'on_review' });
      t.ok(Date.parse(site.upload_datetime) >= before - 2000, 'uploaded now');
      const row = await snapshot(site.id);
      t.match(row, {
        name,
        address: 'Karlsruhe',
        description: 'A site',
        status: 'on_review',
        uploader_sub: user.sub,
        uploader_iss: ctx.oidc.issuer,
      });
      t.equal(row?.upload_datetime.toISOString(), site.upload_datetime);
      t.equal(row?.submit?.resource_type, 'site', 'a submit is opened');
      t.equal(row?.submit?.site_id, site.id);
      t.same((await list(`/sites?name=${name}`)).items, [], 'not listed by default');
      t.same(ids(await list(`/sites?name=${name}&status=on_review`)), [site.id]);
    });

    t.test('201 the upload_datetime it answers is the one stored: the date filters agree with it', async (t) => {
      const name = unique('instant');
      const site = await createSite({ name, address: 'x' });
      const at = Date.parse(site.upload_datetime);
      const around = (q: string) => list(`/sites?name=${name}&status=on_review&${q}`).then(ids);
      t.same(await around(`upload_after=${site.upload_datetime}`), [], 'not after itself');
      t.same(await around(`upload_before=${site.upload_datetime}`), [], 'not before itself');
      t.same(await around(`upload_after=${new Date(at - 1).toISOString()}`), [site.id]);
      t.same(await around(`upload_before=${new Date(at + 1).toISOString()}`), [site.id]);
      t.equal((await snapshot(site.id))?.submit?.upload_datetime.toISOString(), site.upload_datetime, 'submitted when uploaded');
    });

    t.test('201 without a description stores an empty one', async (t) => {
      const site = await createSite({ name: unique('nodesc'), address: 'Brno' });
      t.equal(site.description, '');
      t.equal((await snapshot(site.id))?.description, '');
    });

    t.test('201 for an administrator too, also on review', async (t) => {
      const site = await createSite({ name: unique('byadmin'), address: 'x' }, admin);
      t.equal(site.status, 'on_review');
      t.ok((await snapshot(site.id))?.submit);
    });

    t.test('415 for a form-encoded body', async (t) => {
      const name = unique('form');
      const response = await app.inject({
        method: 'POST',
        url: '/sites',
        headers: { ...(await headers(user)), 'content-type': FORM },
        payload: `name=${name}&address=x`,
      });
      assertError(t, response, 415);
      t.equal(await prisma.site.count({ where: { name } }), 0);
    });

    t.test('401 without a token, whatever the body', async (t) => {
      const name = unique('anon');
      assertError(t, await app.inject({ method: 'POST', url: '/sites', payload: { name, address: 'x' } }), 401);
      assertError(t, await app.inject({ method: 'POST', url: '/sites', payload: { name: 5 } }), 401);
      t.equal(await prisma.site.count({ where: { name } }), 0);
    });

    t.test('401 with an invalid token', async (t) => {
      const name = unique('badtoken');
      const response = await app.inject({
        method: 'POST',
        url: '/sites',
        headers: { authorization: 'Bearer not.a.jwt' },
        payload: { name, address: 'x' },
      });
      assertError(t, response, 401);
      t.equal(await prisma.site.count({ where: { name } }), 0);
    });

    t.test('403 for a token holder who is not registered', async (t) => {
      const name = unique('unreg');
      const response = await app.inject({
        method: 'POST',
        url: '/sites',
        headers: await headers(unregistered),
        payload: { name, address: 'x' },
      });
      assertError(t, response, 403);
      t.equal(await prisma.site.count({ where: { name } }), 0);
    });

    t.test('409 for a name already taken, approved or on review', async (t) => {
      const taken = await seed.site({});
      const body = assertError(
        t,
        await app.inject({ method: 'POST', url: '/sites', headers: await headers(other), payload: { name: taken.name, address: 'y' } }),
        409,
      );
      t.match(body.message, taken.name);
      const pending = await createSite({ name: unique('dup'), address: 'x' });
      assertError(
        t,
        await app.inject({ method: 'POST', url: '/sites', headers: await headers(other), payload: { name: pending.name, address: 'y' } }),
        409,
      );
      t.equal(await prisma.site.count({ where: { name: taken.name } }), 1);
      t.equal(await prisma.site.count({ where: { name: pending.name } }), 1);
      t.equal(await prisma.submit.count({ where: { site: { name: pending.name } } }), 1, 'one submit');
    });

    t.test('409 for all but one of 20 concurrent identical creations', async (t) => {
      const name = unique('race');
      const auth = await headers(user);
      const responses = await Promise.all(
        Array.from({ length: 20 }, () => app.inject({ method: 'POST', url: '/sites', headers: auth, payload: { name, address: 'x' } })),
      );
      const codes = responses.map((r) => r.statusCode).sort();
      t.same(
        codes,
        [201, ...Array.from({ length: 19 }, () => 409)],
        JSON.stringify(responses.filter((r) => r.statusCode !== 201 && r.statusCode !== 409).map((r) => r.body)),
      );
      for (const r of responses.filter((r) => r.statusCode === 409)) t.equal(json<ErrorBody>(r).code, 409);
      t.equal(await prisma.site.count({ where: { name } }), 1, 'one row');
      t.equal(await prisma.submit.count({ where: { site: { name } } }), 1, 'one submit');
      t.equal(await prisma.submit.count({ where: { resource_type: 'site', site_id: null } }), 0, 'no orphan submit');
    });

    const invalid: [string, unknown][] = [
      ['a name that is not a string', { name: 5, address: 'x' }],
      ['an address that is not a string', { name: 'n', address: true }],
      ['a description that is not a string', { name: 'n', address: 'x', description: ['d'] }],
      ['a null name', { name: null, address: 'x' }],
      ['an unknown field', { name: 'n', address: 'x', colour: 'blue' }],
      ['a read-only field on create', { name: 'n', address: 'x', status: 'approved' }],
      ['no name', { address: 'x' }],
      ['no address', { name: 'n' }],
      ['an empty name', { name: '', address: 'x' }],
      ['a name over 256 characters', { name: 'n'.repeat(257), address: 'x' }],
      ['a body that is not an object', ['n', 'x']],
    ];
    for (const [label, payload] of invalid) {
      t.test(`422 for ${label}`, async (t) => {
        const before = await prisma.site.count();
        const response = await app.inject({ method: 'POST', url: '/sites', headers: await headers(user), payload: payload as object });
        assertError(t, response, 422);
        t.equal(await prisma.site.count(), before, 'nothing stored');
      });
    }

    t.test('422 for an unknown query parameter', async (t) => {
      const name = unique('query');
      const response = await app.inject({
        method: 'POST',
        url: '/sites?approve=true',
        headers: await headers(user),
        payload: { name, address: 'x' },
      });
      assertError(t, response, 422);
      t.equal(await prisma.site.count({ where: { name } }), 0, 'nothing stored');
    });

    t.test('422 names the offending field', async (t) => {
      const body = assertError(
        t,
        await app.inject({ method: 'POST', url: '/sites', headers: await headers(user), payload: { name: 5, address: 'x' } }),
        422,
      );
      t.ok(body.errors && 'body.name' in body.errors, JSON.stringify(body.errors));
      const unknown = assertError(
        t,
        await app.inject({ method: 'POST', url: '/sites', headers: await headers(user), payload: { name: 'n', address: 'x', colour: 1 } }),
        422,
      );
      t.match(JSON.stringify(unknown.errors), /colour/);
    });

    t.test('422 for an empty body', async (t) => {
      const response = await app.inject({
        method: 'POST',
        url: '/sites',
        headers: { ...(await headers(user)), 'content-type': 'application/json' },
      });
      assertError(t, response, 422);
    });

    t.test('400 for a body that is not JSON', async (t) => {
      const response = await app.inject({
        method: 'POST',
        url: '/sites',
        headers: { ...(await headers(user)), 'content-type': 'application/json' },
        payload: '{"name": ',
      });
      assertError(t, response, 400);
    });
  });

  t.test('NUL characters are a 422, never a 500', async (t) => {
    const name = unique('nul');
    const create = await app.inject({
      method: 'POST',
      url: '/sites',
      headers: await headers(user),
      payload: { name: `${name}\u0000`, address: 'x' },
    });
    t.equal(create.statusCode, 422, `create: ${create.body}`);
    t.match(JSON.stringify(json<ErrorBody>(create).errors), /body\.name/, 'names the field');
    t.equal(await prisma.site.count({ where: { name: { startsWith: name } } }), 0, 'nothing stored');
    const search = await app.inject({ url: '/sites:search?terms=%00' });
    t.equal(search.statusCode, 422, `search: ${search.body}`);
    const filter = await app.inject({ url: '/sites?name=a%00' });
    t.equal(filter.statusCode, 422, `filter: ${filter.body}`);
  });

  t.test('a page number beyond any page is an empty page or a 422, never a 500', async (t) => {
    const response = await app.inject({ url: '/sites?page=100000000000000000000' });
    t.ok([200, 422].includes(response.statusCode), `${response.statusCode} ${response.body}`);
    for (const page of [1000000000, 2147483648]) {
      const far = await app.inject({ url: `/sites?page=${page}` });
      t.ok([200, 422].includes(far.statusCode), `page ${page}: ${far.statusCode} ${far.body}`);
      if (far.statusCode === 200) t.same(json<Sites>(far).items, [], 'an empty page');
    }
  });

  t.test('UpdateSite PUT /sites/{site_id}', async (t) => {
    t.test('204 replaces name, address and description', async (t) => {
      const row = await seed.site({ description: 'old' });
      const name = unique('renamed');
      const response = await app.inject({
        method: 'PUT',
        url: `/sites/${row.id}`,
        headers: await headers(admin),
        payload: { name, address: 'new address', description: 'new' },
      });
      t.equal(response.statusCode, 204, response.body);
      t.equal(response.body, '');
      const after = await snapshot(row.id);
      t.match(after, { name, address: 'new address', description: 'new', status: 'approved' });
      t.equal(after?.upload_datetime.toISOString(), row.upload_datetime.toISOString(), 'upload date kept');
    });

    t.test('204 takes the site as read from GET, read-only fields ignored', async (t) => {
      const created = await createSite({ name: unique('roundtrip'), address: 'x', description: 'd' });
      const read = json<Site>(await app.inject({ url: `/sites/${created.id}` }));
      const name = unique('roundtripped');
      const response = await app.inject({
        method: 'PUT',
        url: `/sites/${created.id}`,
        headers: await headers(admin),
        payload: { ...read, name },
      });
      t.equal(response.statusCode, 204, response.body);
      const after = json<Site>(await app.inject({ url: `/sites/${created.id}` }));
      t.same(after, { ...read, name });
      t.ok((await snapshot(created.id))?.submit, 'still on review with its submit');
    });

    t.test('204 a different status sent back is ignored (use :approve)', async (t) => {
      const created = await createSite({ name: unique('sneaky'), address: 'x' });
      const response = await app.inject({
        method: 'PUT',
        url: `/sites/${created.id}`,
        headers: await headers(admin),
        payload: { name: created.name, address: 'y', status: 'approved' },
      });
      t.equal(response.statusCode, 204, response.body);
      const after = await snapshot(created.id);
      t.equal(after?.status, 'on_review');
      t.equal(after?.address, 'y');
      t.ok(after?.submit);
    });

    t.test('204 keeping its own name is no conflict', async (t) => {
      const row = await seed.site({});
      const response = await app.inject({
        method: 'PUT',
        url: `/sites/${row.id}`,
        headers: await headers(admin),
        payload: { name: row.name, address: 'moved' },
      });
      t.equal(response.statusCode, 204, response.body);
      t.equal((await snapshot(row.id))?.address, 'moved');
    });

    t.test('401 without a token', async (t) => {
      const row = await seed.site({});
      assertError(t, await app.inject({ method: 'PUT', url: `/sites/${row.id}`, payload: { name: 'x', address: 'y' } }), 401);
      t.same(await prisma.site.findUnique({ where: { id: row.id } }), row, 'unchanged');
    });
    t.test('403 for a user who is not an administrator', async (t) => {
      const row = await seed.site({});
      const response = await app.inject({
        method: 'PUT',
        url: `/sites/${row.id}`,
        headers: await headers(user),
        payload: { name: unique('no'), address: 'y' },
      });
      assertError(t, response, 403);
      t.same(await prisma.site.findUnique({ where: { id: row.id } }), row, 'unchanged');
    });
    t.test('403 for an administrator who is not registered', async (t) => {
      const row = await seed.site({});
      const response = await app.inject({
        method: 'PUT',
        url: `/sites/${row.id}`,
        headers: await headers(unregisteredAdmin),
        payload: { name: unique('no'), address: 'y' },
      });
      assertError(t, response, 403);
      t.same(await prisma.site.findUnique({ where: { id: row.id } }), row, 'unchanged');
    });
    t.test('404 for an unknown site', async (t) => {
      const name = unique('ghost');
      assertError(
        t,
        await app.inject({ method: 'PUT', url: `/sites/${UNKNOWN_ID}`, headers: await headers(admin), payload: { name, address: 'y' } }),
        404,
      );
      t.equal(await prisma.site.count({ where: { name } }), 0, 'not created');
    });
    t.test('409 for the name of another site', async (t) => {
      const first = await seed.site({});
      const second = await seed.site({});
      const response = await app.inject({
        method: 'PUT',
        url: `/sites/${second.id}`,
        headers: await headers(admin),
        payload: { name: first.name, address: 'y' },
      });
      assertError(t, response, 409);
      t.same(await prisma.site.findUnique({ where: { id: second.id } }), second, 'unchanged');
    });
    const invalid: [string, unknown][] = [
      ['a name that is not a string', { name: 5, address: 'x' }],
      ['an unknown field', { name: 'n', address: 'x', uploader: 'me' }],
      ['no address', { name: 'n' }],
      ['a status outside the enum', { name: 'n', address: 'x', status: 'rejected' }],
      ['an id that is not a UUID', { name: 'n', address: 'x', id: 'abc' }],
    ];
    for (const [label, payload] of invalid) {
      t.test(`422 for ${label}`, async (t) => {
        const row = await seed.site({});
        const response = await app.inject({
          method: 'PUT',
          url: `/sites/${row.id}`,
          headers: await headers(admin),
          payload: payload as object,
        });
        assertError(t, response, 422);
        t.same(await prisma.site.findUnique({ where: { id: row.id } }), row, 'unchanged');
      });
    }
    t.test('422 for a site id that is not a UUID', async (t) => {
      assertError(
        t,
        await app.inject({ method: 'PUT', url: '/sites/nope', headers: await headers(admin), payload: { name: 'n', address: 'x' } }),
        422,
      );
    });
  });

  t.test('DeleteSite DELETE /sites/{site_id}', async (t) => {
    t.test('204 deletes the site with its flavors, their results, claims and submits', async (t) => {
      const site = await seed.site({});
      const keep = await seed.site({});
      const benchmark = await seed.benchmark();
      const tag = await prisma.tag.create({ data: { name: unique('tag') } });
      const approved = await seed.flavor(site.id, { name: 'small' });
      const pending = await seed.flavor(site.id, { name: 'large', status: 'on_review' });
      const kept = await seed.flavor(keep.id, { name: 'small' });
      const result = (flavor: { id: string; site_id: string }) => seed.result(benchmark.id, flavor, { json: { score: 1 }, tags: [tag.id] });
      const doomed = await result(approved);
      const survivor = await result(kept);
      const claim = await prisma.claim.create({
        data: {
          message: 'wrong',
          result_id: doomed.id,
          ...seed.uploader(other),
          submit: { create: { resource_type: 'claim' } },
        },
      });

      const response = await app.inject({ method: 'DELETE', url: `/sites/${site.id}`, headers: await headers(admin) });
      t.equal(response.statusCode, 204, response.body);
      t.equal(response.body, '');
      t.equal(await prisma.site.count({ where: { id: site.id } }), 0, 'site gone');
      t.equal(await prisma.flavor.count({ where: { site_id: site.id } }), 0, 'its flavors gone');
      t.equal(await prisma.submit.count({ where: { flavor_id: pending.id } }), 0, "its flavors' submits gone");
      t.equal(await prisma.result.count({ where: { id: doomed.id } }), 0, 'their results gone');
      t.equal(await prisma.resultTag.count({ where: { result_id: doomed.id } }), 0, 'their tag links gone');
      t.equal(await prisma.claim.count({ where: { id: claim.id } }), 0, 'claims on them gone');
      t.equal(await prisma.submit.count({ where: { claim_id: claim.id } }), 0, 'and their submits');
      t.equal(
        await prisma.submit.count({
          where: { resource_type: { in: ['flavor', 'claim', 'site'] }, flavor_id: null, claim_id: null, site_id: null },
        }),
        0,
        'no orphan submit',
      );
      t.equal(await prisma.site.count({ where: { id: keep.id } }), 1, 'other sites stay');
      t.equal(await prisma.flavor.count({ where: { id: kept.id } }), 1, 'their flavors stay');
      t.equal(await prisma.result.count({ where: { id: survivor.id } }), 1, 'their results stay');
      t.equal(await prisma.resultTag.count({ where: { result_id: survivor.id } }), 1);
      t.equal(await prisma.tag.count({ where: { id: tag.id } }), 1, 'tags stay');
      t.equal(await prisma.benchmark.count({ where: { id: benchmark.id } }), 1, 'benchmarks stay');
      assertError(t, await app.inject({ url: `/sites/${site.id}` }), 404);
    });

    t.test('204 deletes a site on review with its submit', async (t) => {
      const created = await createSite({ name: unique('delpending'), address: 'x' });
      const response = await app.inject({ method: 'DELETE', url: `/sites/${created.id}`, headers: await headers(admin) });
      t.equal(response.statusCode, 204, response.body);
      t.equal(await prisma.site.count({ where: { id: created.id } }), 0);
      t.equal(await prisma.submit.count({ where: { site_id: created.id } }), 0);
    });

    t.test('401 without a token', async (t) => {
      const row = await seed.site({});
      assertError(t, await app.inject({ method: 'DELETE', url: `/sites/${row.id}` }), 401);
      t.equal(await prisma.site.count({ where: { id: row.id } }), 1);
    });
    t.test('403 for a user, even the uploader', async (t) => {
      const created = await createSite({ name: unique('mine'), address: 'x' });
      assertError(t, await app.inject({ method: 'DELETE', url: `/sites/${created.id}`, headers: await headers(user) }), 403);
      t.equal(await prisma.site.count({ where: { id: created.id } }), 1);
      t.equal(await prisma.submit.count({ where: { site_id: created.id } }), 1);
    });
    t.test('404 for an unknown site', async (t) => {
      assertError(t, await app.inject({ method: 'DELETE', url: `/sites/${UNKNOWN_ID}`, headers: await headers(admin) }), 404);
    });
    t.test('404 the second time', async (t) => {
      const row = await seed.site({});
      t.equal((await app.inject({ method: 'DELETE', url: `/sites/${row.id}`, headers: await headers(admin) })).statusCode, 204);
      assertError(t, await app.inject({ method: 'DELETE', url: `/sites/${row.id}`, headers: await headers(admin) }), 404);
    });
    t.test('422 for an id that is not a UUID', async (t) => {
      assertError(t, await app.inject({ method: 'DELETE', url: '/sites/123', headers: await headers(admin) }), 422);
    });
  });

  t.test('ApproveSite POST /sites/{site_id}:approve', async (t) => {
    t.test('204 approves: listed by default, submit closed', async (t) => {
      const created = await createSite({ name: unique('approve'), address: 'x' });
      t.equal(await prisma.submit.count({ where: { site_id: created.id } }), 1);
      const response = await app.inject({ method: 'POST', url: `/sites/${created.id}:approve`, headers: await headers(admin) });
      t.equal(response.statusCode, 204, response.body);
      t.equal(response.body, '');
      const row = await snapshot(created.id);
      t.equal(row?.status, 'approved');
      t.equal(row?.submit, null, 'submit removed');
      t.same(ids(await list(`/sites?name=${created.name}`)), [created.id], 'listed by default');
      t.same(ids(await list(`/sites?name=${created.name}&status=on_review`)), []);
    });
    t.test('204 with a form Content-Type and no body (generated clients)', async (t) => {
      const created = await createSite({ name: unique('approveform'), address: 'x' });
      const response = await app.inject({
        method: 'POST',
        url: `/sites/${created.id}:approve`,
        headers: { ...(await headers(admin)), 'content-type': FORM },
      });
      t.equal(response.statusCode, 204, response.body);
      t.equal((await snapshot(created.id))?.status, 'approved');
    });
    t.test('401 without a token', async (t) => {
      const created = await createSite({ name: unique('approveanon'), address: 'x' });
      assertError(t, await app.inject({ method: 'POST', url: `/sites/${created.id}:approve` }), 401);
      const row = await snapshot(created.id);
      t.equal(row?.status, 'on_review');
      t.ok(row?.submit);
    });
    t.test('403 for a user', async (t) => {
      const created = await createSite({ name: unique('approveuser'), address: 'x' });
      assertError(t, await app.inject({ method: 'POST', url: `/sites/${created.id}:approve`, headers: await headers(user) }), 403);
      const row = await snapshot(created.id);
      t.equal(row?.status, 'on_review');
      t.ok(row?.submit);
    });
    t.test('404 for an unknown site', async (t) => {
      assertError(t, await app.inject({ method: 'POST', url: `/sites/${UNKNOWN_ID}:approve`, headers: await headers(admin) }), 404);
    });
    t.test('422 for a site already approved', async (t) => {
      const row = await seed.site({});
      const body = assertError(
        t,
        await app.inject({ method: 'POST', url: `/sites/${row.id}:approve`, headers: await headers(admin) }),
        422,
      );
      t.match(body.message, /approved/);
      t.same(await prisma.site.findUnique({ where: { id: row.id } }), row, 'unchanged');
    });
    t.test('422 the second time', async (t) => {
      const created = await createSite({ name: unique('approvetwice'), address: 'x' });
      t.equal((await app.inject({ method: 'POST', url: `/sites/${created.id}:approve`, headers: await headers(admin) })).statusCode, 204);
      assertError(t, await app.inject({ method: 'POST', url: `/sites/${created.id}:approve`, headers: await headers(admin) }), 422);
    });
    t.test('exactly one of concurrent approvals succeeds', async (t) => {
      const created = await createSite({ name: unique('approverace'), address: 'x' });
      const auth = await headers(admin);
      const codes = (
        await Promise.all(
          Array.from({ length: 5 }, () => app.inject({ method: 'POST', url: `/sites/${created.id}:approve`, headers: auth })),
        )
      )
        .map((r) => r.statusCode)
        .sort();
      t.same(codes, [204, 422, 422, 422, 422]);
      const row = await snapshot(created.id);
      t.equal(row?.status, 'approved');
      t.equal(row?.submit, null);
    });
  });

  t.test('RejectSite POST /sites/{site_id}:reject', async (t) => {
    t.test('204 deletes the site on review with its submit and flavors', async (t) => {
      const created = await createSite({ name: unique('reject'), address: 'x' });
      const flavor = await seed.flavor(created.id, { name: 'f', status: 'on_review' });
      const response = await app.inject({ method: 'POST', url: `/sites/${created.id}:reject`, headers: await headers(admin) });
      t.equal(response.statusCode, 204, response.body);
      t.equal(response.body, '');
      t.equal(await prisma.site.count({ where: { id: created.id } }), 0, 'site gone');
      t.equal(await prisma.submit.count({ where: { site_id: created.id } }), 0, 'its submit gone');
      t.equal(await prisma.flavor.count({ where: { id: flavor.id } }), 0, 'its flavor gone');
      t.equal(await prisma.submit.count({ where: { flavor_id: flavor.id } }), 0, "its flavor's submit gone");
      assertError(t, await app.inject({ url: `/sites/${created.id}` }), 404);
    });
    t.test('204 with a form Content-Type and no body', async (t) => {
      const created = await createSite({ name: unique('rejectform'), address: 'x' });
      const response = await app.inject({
        method: 'POST',
        url: `/sites/${created.id}:reject`,
        headers: { ...(await headers(admin)), 'content-type': FORM },
      });
      t.equal(response.statusCode, 204, response.body);
    });
    t.test('401 without a token', async (t) => {
      const created = await createSite({ name: unique('rejectanon'), address: 'x' });
      assertError(t, await app.inject({ method: 'POST', url: `/sites/${created.id}:reject` }), 401);
      t.ok((await snapshot(created.id))?.submit);
    });
    t.test('403 for a user, even the uploader', async (t) => {
      const created = await createSite({ name: unique('rejectuser'), address: 'x' });
      assertError(t, await app.inject({ method: 'POST', url: `/sites/${created.id}:reject`, headers: await headers(user) }), 403);
      t.ok((await snapshot(created.id))?.submit);
    });
    t.test('404 for an unknown site', async (t) => {
      assertError(t, await app.inject({ method: 'POST', url: `/sites/${UNKNOWN_ID}:reject`, headers: await headers(admin) }), 404);
    });
    t.test('422 for an approved site, which stays', async (t) => {
      const row = await seed.site({});
      const body = assertError(t, await app.inject({ method: 'POST', url: `/sites/${row.id}:reject`, headers: await headers(admin) }), 422);
      t.match(body.message, /DELETE/);
      t.same(await prisma.site.findUnique({ where: { id: row.id } }), row, 'unchanged');
    });
  });

  t.test('review steps are transactional under concurrency', async (t) => {
    t.test('approve and reject racing on one site: one wins, never half of each', async (t) => {
      for (let round = 0; round < 5; round += 1) {
        const created = await createSite({ name: unique('duel'), address: 'x' });
        const auth = await headers(admin);
        const [approve, reject] = await Promise.all([
          app.inject({ method: 'POST', url: `/sites/${created.id}:approve`, headers: auth }),
          app.inject({ method: 'POST', url: `/sites/${created.id}:reject`, headers: auth }),
        ]);
        const row = await snapshot(created.id);
        if (approve.statusCode === 204) {
          t.equal(reject.statusCode, 422, `approved first, then reject refused: ${reject.body}`);
          t.equal(row?.status, 'approved');
          t.equal(row?.submit, null);
        } else {
          t.equal(reject.statusCode, 204, reject.body);
          t.equal(approve.statusCode, 404, `rejected first, then approve finds nothing: ${approve.body}`);
          t.equal(row, null);
        }
        t.equal(await prisma.submit.count({ where: { site_id: created.id } }), row?.status === 'on_review' ? 1 : 0);
      }
    });
    t.test('many approvals, rejections and refused steps at once leave each site whole', async (t) => {
      const created = [];
      for (let i = 0; i < 10; i += 1) created.push(await createSite({ name: unique('load'), address: 'x' }));
      const approved = await seed.site({});
      const auth = await headers(admin);
      const responses = await Promise.all([
        ...created.map((site, i) =>
          app.inject({ method: 'POST', url: `/sites/${site.id}:${i < 5 ? 'approve' : 'reject'}`, headers: auth }),
        ),
        ...Array.from({ length: 5 }, () => app.inject({ method: 'POST', url: `/sites/${approved.id}:approve`, headers: auth })),
        ...Array.from({ length: 5 }, () => app.inject({ method: 'POST', url: `/sites/${approved.id}:reject`, headers: auth })),
      ]);
      t.same(
        responses.map((r) => r.statusCode),
        [...Array.from({ length: 10 }, () => 204), ...Array.from({ length: 10 }, () => 422)],
      );
      for (const [i, site] of created.entries()) {
        const row = await snapshot(site.id);
        if (i < 5) t.match(row, { status: 'approved', submit: null }, `site ${i} approved`);
        else t.equal(row, null, `site ${i} rejected`);
      }
      t.same(await prisma.site.findUnique({ where: { id: approved.id } }), approved, 'the refused steps changed nothing');
    });
  });

  t.test('integrity: no site on review without its submit, no submit without its site', async (t) => {
    const onReview = await prisma.site.count({ where: { status: 'on_review', submit: null } });
    t.equal(onReview, 0);
    const approvedWithSubmit = await prisma.site.count({ where: { status: 'approved', submit: { isNot: null } } });
    t.equal(approvedWithSubmit, 0);
    t.equal(await prisma.submit.count({ where: { resource_type: 'site', site_id: null } }), 0);
  });
});
