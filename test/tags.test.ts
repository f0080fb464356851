// The `tags` tag: free labels, created by users without review. One named
// case per status code, with what the database holds afterwards.
import t from 'tap';
import { adminPersona, eachDatabase, json, persona, type Persona, type TestContext } from './helpers/app.js';
import { assertError, assertPage, ids } from './helpers/assertions.js';
import { TAG_KEYS, type Tag, type Tags } from './helpers/contract.js';
import { fetchPage, UNKNOWN_ID, unique } from './helpers/fixtures.js';
import { seeder } from './helpers/seed.js';

eachDatabase(t, async (t, ctx: TestContext) => {
  const { app } = ctx;
  const prisma = ctx.db.prisma;
  const admin = adminPersona('tags-admin');
  const user = persona('tags-user');
  const unregistered = persona('tags-unregistered');
  await ctx.register(admin);
  await ctx.register(user);
  const headers = (p: Persona) => ctx.auth(p);

  const seedTag = (name: string = unique('tag'), description = '') => prisma.tag.create({ data: { name, description } });
  const row = (id: string) => prisma.tag.findUnique({ where: { id } });

  const list = (url: string) => fetchPage<Tag>(app, url);

  t.test('ListTags GET /tags', async (t) => {
    const m = unique('list');
    const b = await seedTag(`${m}b`, 'second');
    const a = await seedTag(`${m}a`);
    const c = await seedTag(`${m}c`);

    t.test('200 lists tags sorted by +name, without a token', async (t) => {
      const response = await app.inject({ url: `/tags:search?terms=${m}` });
      t.equal(response.statusCode, 200, response.body);
      const page = json<Tags>(response);
      assertPage(t, page, { total: 3, page: 1, pages: 1, per_page: 100, has_next: false, has_prev: false, next_num: null, prev_num: null });
      t.same(ids(page), [a.id, b.id, c.id]);
      const all = await list('/tags');
      t.ok(ids(all).includes(b.id), 'GET /tags lists it');
      const item = all.items.find((tag) => tag.id === b.id);
      t.same(Object.keys(item ?? {}).sort(), TAG_KEYS, 'exactly the Tag fields');
      t.same(item, { id: b.id, name: b.name, description: 'second' });
      const mine = all.items.filter((tag) => tag.name.startsWith(m)).map((tag) => tag.id);
      t.same(mine, [a.id, b.id, c.id], 'sorted by name');
    });
    t.test('200 filters by exact name', async (t) => {
      t.same(ids(await list(`/tags?name=${a.name}`)), [a.id]);
      t.same(ids(await list(`/tags?name=${m}`)), [], 'a prefix is not a match');
      t.same(ids(await list(`/tags?name=${a.name.toUpperCase()}`)), [], 'case-sensitive');
    });
    t.test('200 pages with the envelope, and a page past the end is empty', async (t) => {
      const total = (await list('/tags')).total;
      t.ok(total >= 3);
      const first = await list('/tags?per_page=2');
      assertPage(t, first, {
        total,
        page: 1,
        pages: Math.ceil(total / 2),
        per_page: 2,
        has_next: true,
        has_prev: false,
        next_num: 2,
        prev_num: null,
      });
      t.equal(first.items.length, 2);
      const second = await list('/tags?per_page=2&page=2');
      assertPage(t, second, { page: 2, has_prev: true, prev_num: 1 });
      const all = await list('/tags');
      t.same(ids(second), ids(all).slice(2, 4), 'same order as the full list');
      const last = Math.ceil(total / 2);
      const end = await list(`/tags?per_page=2&page=${last}`);
      assertPage(t, end, { page: last, has_next: false, next_num: null });
      const past = await list(`/tags?per_page=2&page=${last + 5}`);
      assertPage(t, past, { items: [], total, page: last + 5, has_next: false, next_num: null });
    });
    t.test('200 sorts by id, name and description, both ways', async (t) => {
      const byName = await list('/tags?sort_by=-name');
      t.same(
        byName.items.filter((tag) => tag.name.startsWith(m)).map((tag) => tag.id),
        [c.id, b.id, a.id],
      );
      const up = ids(await list('/tags?sort_by=%2Bid'));
      t.same(up, [...up].sort());
      const down = ids(await list('/tags?sort_by=-id'));
      t.same(down, [...up].reverse());
      const scoped = (sortBy: string) => list(`/tags:search?terms=${m}&sort_by=${encodeURIComponent(sortBy)}`).then(ids);
      t.same(await scoped('-name'), [c.id, b.id, a.id]);
      t.same(await scoped('+id'), [a.id, b.id, c.id].sort());
      t.same(await scoped('+name,-id'), [a.id, b.id, c.id], 'several fields');
      // As the reference: description too (only b has one: '' sorts first).
      t.same(await scoped('-description,+name'), [b.id, a.id, c.id], 'by description');
    });
    t.test('422 for an unknown sort field', async (t) => {
      assertError(t, await app.inject({ url: '/tags?sort_by=%2Bmessage' }), 422);
      assertError(t, await app.inject({ url: '/tags?sort_by=-upload_datetime' }), 422);
    });
    t.test('422 for a sort field without its sign', async (t) => {
      assertError(t, await app.inject({ url: '/tags?sort_by=name' }), 422);
      assertError(t, await app.inject({ url: '/tags?sort_by=%2Bname,id' }), 422);
    });
    t.test('422 for an unknown query parameter', async (t) => {
      assertError(t, await app.inject({ url: '/tags?description=x' }), 422);
    });
    t.test('422 for filters tags do not have (no review, no upload date)', async (t) => {
      assertError(t, await app.inject({ url: '/tags?status=approved' }), 422);
      assertError(t, await app.inject({ url: '/tags?upload_after=2020-01-01' }), 422);
    });
    t.test('422 for pagination out of range', async (t) => {
      assertError(t, await app.inject({ url: '/tags?per_page=101' }), 422);
      assertError(t, await app.inject({ url: '/tags?page=-1' }), 422);
    });
  });

  t.test('SearchTag GET /tags:search', async (t) => {
    const m = unique('search');
    const gpu = await seedTag(`${m}-gpu`, 'Result executed using GPU');
    const hpc = await seedTag(`${m}-hpc`, 'Result executed in an hpc system');
    const pct = await seedTag(`${m}-pct`, '50% off_peak');
    const search = (q: string) => list(`/tags:search?terms=${m}&${q}`).then(ids);

    t.test('200 every term must match, in name or description', async (t) => {
      t.same(await search('terms=executed&terms=GPU'), [gpu.id]);
      t.same(await search('terms=executed'), [gpu.id, hpc.id]);
      t.same(await search('terms=gpu&terms=hpc'), []);
    });
    t.test('200 terms are case-sensitive', async (t) => {
      t.same(await search('terms=GPU'), [gpu.id]);
      t.same(await search('terms=HPC'), []);
    });
    t.test('200 % and _ are literal characters', async (t) => {
      t.same(await search(`terms=${encodeURIComponent('%')}`), [pct.id]);
      t.same(await search(`terms=${encodeURIComponent('0% off_')}`), [pct.id]);
      t.same(await search(`terms=${encodeURIComponent('R%GPU')}`), [], 'not a wildcard');
      t.same(await search('terms=_'), [pct.id]);
      t.same(await search('terms=n_an'), [], 'not a wildcard (would match "in an")');
    });
    t.test('200 both array forms', async (t) => {
      t.same(ids(await list(`/tags:search?terms[]=${m}&terms[]=GPU`)), [gpu.id]);
      t.same(ids(await list(`/tags:search?terms%5B%5D=${m}&terms%5B%5D=hpc`)), [hpc.id]);
    });
    t.test('200 pages and sorts', async (t) => {
      const page = await list(`/tags:search?terms=${m}&per_page=2&page=2&sort_by=-name`);
      assertPage(t, page, { total: 3, page: 2, pages: 2, per_page: 2, has_next: false, has_prev: true, next_num: null, prev_num: 1 });
      t.same(ids(page), [gpu.id]);
    });
    t.test('422 for an unknown query parameter', async (t) => {
      assertError(t, await app.inject({ url: '/tags:search?terms=a&status=approved' }), 422);
    });
    t.test('422 for a bad sort', async (t) => {
      assertError(t, await app.inject({ url: '/tags:search?sort_by=%2Bwhatever' }), 422);
    });
  });

  t.test('GetTag GET /tags/{tag_id}', async (t) => {
    t.test('200 returns the tag, without a token', async (t) => {
      const stored = await seedTag(undefined, 'about');
      const response = await app.inject({ url: `/tags/${stored.id}` });
      t.equal(response.statusCode, 200, response.body);
      const tag = json<Tag>(response);
      t.same(Object.keys(tag).sort(), TAG_KEYS);
      t.same(tag, { id: stored.id, name: stored.name, description: 'about' });
    });
    t.test('404 for an unknown id', async (t) => {
      assertError(t, await app.inject({ url: `/tags/${UNKNOWN_ID}` }), 404);
    });
    t.test('422 for an id that is not a UUID', async (t) => {
      assertError(t, await app.inject({ url: '/tags/gpu' }), 422);
    });
  });

  t.test('CreateTag POST /tags', async (t) => {
    t.test('201 creates the tag, usable at once: no review, no submit', async (t) => {
      const name = unique('create');
      const submits = await prisma.submit.count();
      const response = await app.inject({
        method: 'POST',
        url: '/tags',
        headers: await headers(user),
        payload: { name, description: 'A tag' },
      });
      t.equal(response.statusCode, 201, response.body);
      const tag = json<Tag>(response);
      t.same(Object.keys(tag).sort(), TAG_KEYS, 'no status');
      t.match(tag, { name, description: 'A tag' });
      t.match(tag.id, /^[0-9a-f-]{36}$/);
      t.match(await row(tag.id), { name, description: 'A tag' });
      t.equal(await prisma.submit.count(), submits, 'no submit');
      t.same(ids(await list(`/tags?name=${name}`)), [tag.id], 'listed at once');
    });
    t.test('201 without a description stores an empty one', async (t) => {
      const response = await app.inject({
        method: 'POST',
        url: '/tags',
        headers: await headers(user),
        payload: { name: unique('nodesc') },
      });
      t.equal(response.statusCode, 201, response.body);
      t.equal(json<Tag>(response).description, '');
      t.equal((await row(json<Tag>(response).id))?.description, '');
    });
    t.test('401 without a token, whatever the body', async (t) => {
      const name = unique('anon');
      assertError(t, await app.inject({ method: 'POST', url: '/tags', payload: { name } }), 401);
      assertError(t, await app.inject({ method: 'POST', url: '/tags', payload: { name: 1 } }), 401);
      t.equal(await prisma.tag.count({ where: { name } }), 0);
    });
    t.test('403 for a token holder who is not registered', async (t) => {
      const name = unique('unreg');
      assertError(t, await app.inject({ method: 'POST', url: '/tags', headers: await headers(unregistered), payload: { name } }), 403);
      t.equal(await prisma.tag.count({ where: { name } }), 0);
    });
    t.test('409 for a name already taken', async (t) => {
      const taken = await seedTag(undefined, 'original');
      const body = assertError(
        t,
        await app.inject({
          method: 'POST',
          url: '/tags',
          headers: await headers(user),
          payload: { name: taken.name, description: 'copy' },
        }),
        409,
      );
      t.match(body.message, taken.name);
      t.same(await prisma.tag.findMany({ where: { name: taken.name } }), [taken], 'unchanged, still one');
    });
    t.test('201 names differing only in case are different tags', async (t) => {
      const lower = await seedTag(unique('case'));
      const response = await app.inject({
        method: 'POST',
        url: '/tags',
        headers: await headers(user),
        payload: { name: lower.name.toUpperCase() },
      });
      t.equal(response.statusCode, 201, response.body);
    });
    t.test('409 for all but one of 20 concurrent identical creations', async (t) => {
      const name = unique('race');
      const auth = await headers(user);
      const responses = await Promise.all(
        Array.from({ length: 20 }, () => app.inject({ method: 'POST', url: '/tags', headers: auth, payload: { name } })),
      );
      const codes = responses.map((r) => r.statusCode).sort();
      t.same(
        codes,
        [201, ...Array.from({ length: 19 }, () => 409)],
        JSON.stringify(responses.filter((r) => r.statusCode >= 500).map((r) => r.body)),
      );
      t.equal(await prisma.tag.count({ where: { name } }), 1);
    });
    const invalid: [string, unknown][] = [
      ['a name that is not a string', { name: 5 }],
      ['a description that is not a string', { name: 'n', description: false }],
      ['an unknown field', { name: 'n', status: 'approved' }],
      ['an id on create', { name: 'n', id: UNKNOWN_ID }],
      ['no name', { description: 'd' }],
      ['an empty name', { name: '' }],
      ['a name over 128 characters', { name: 'n'.repeat(129) }],
      ['a body that is a string', 'gpu'],
    ];
    for (const [label, payload] of invalid) {
      t.test(`422 for ${label}`, async (t) => {
        const before = await prisma.tag.count();
        const response = await app.inject({
          method: 'POST',
          url: '/tags',
          headers: { ...(await headers(user)), 'content-type': 'application/json' },
          payload: JSON.stringify(payload),
        });
        assertError(t, response, 422);
        t.equal(await prisma.tag.count(), before, 'nothing stored');
      });
    }
    t.test('400 for a body that is not JSON', async (t) => {
      const response = await app.inject({
        method: 'POST',
        url: '/tags',
        headers: { ...(await headers(user)), 'content-type': 'application/json' },
        payload: "{'name': 'x'}",
      });
      assertError(t, response, 400);
    });
  });

  t.test('NUL characters are a 422, never a 500', async (t) => {
    const name = unique('nul');
    const create = await app.inject({ method: 'POST', url: '/tags', headers: await headers(user), payload: { name: `${name}\u0000` } });
    t.equal(create.statusCode, 422, `create: ${create.body}`);
    t.equal(await prisma.tag.count({ where: { name: { startsWith: name } } }), 0, 'nothing stored');
    const search = await app.inject({ url: '/tags:search?terms=%00' });
    t.equal(search.statusCode, 422, `search: ${search.body}`);
  });

  t.test('UpdateTag PUT /tags/{tag_id}', async (t) => {
    t.test('204 replaces name and description', async (t) => {
      const stored = await seedTag(undefined, 'old');
      const name = unique('renamed');
      const response = await app.inject({
        method: 'PUT',
        url: `/tags/${stored.id}`,
        headers: await headers(admin),
        payload: { name, description: 'new' },
      });
      t.equal(response.statusCode, 204, response.body);
      t.equal(response.body, '');
      t.same(await row(stored.id), { id: stored.id, name, description: 'new' });
    });
    t.test('204 takes the tag as read from GET, the id ignored', async (t) => {
      const stored = await seedTag(undefined, 'd');
      const read = json<Tag>(await app.inject({ url: `/tags/${stored.id}` }));
      const response = await app.inject({
        method: 'PUT',
        url: `/tags/${stored.id}`,
        headers: await headers(admin),
        payload: { ...read, description: 'e' },
      });
      t.equal(response.statusCode, 204, response.body);
      t.same(json<Tag>(await app.inject({ url: `/tags/${stored.id}` })), { ...read, description: 'e' });
    });
    t.test('204 keeping its own name is no conflict', async (t) => {
      const stored = await seedTag();
      const response = await app.inject({
        method: 'PUT',
        url: `/tags/${stored.id}`,
        headers: await headers(admin),
        payload: { name: stored.name, description: 'x' },
      });
      t.equal(response.statusCode, 204, response.body);
    });
    t.test('401 without a token', async (t) => {
      const stored = await seedTag();
      assertError(t, await app.inject({ method: 'PUT', url: `/tags/${stored.id}`, payload: { name: 'x' } }), 401);
      t.same(await row(stored.id), stored);
    });
    t.test('403 for a user', async (t) => {
      const stored = await seedTag();
      assertError(
        t,
        await app.inject({ method: 'PUT', url: `/tags/${stored.id}`, headers: await headers(user), payload: { name: unique('x') } }),
        403,
      );
      t.same(await row(stored.id), stored);
    });
    t.test('404 for an unknown tag', async (t) => {
      const name = unique('ghost');
      assertError(
        t,
        await app.inject({ method: 'PUT', url: `/tags/${UNKNOWN_ID}`, headers: await headers(admin), payload: { name } }),
        404,
      );
      t.equal(await prisma.tag.count({ where: { name } }), 0);
    });
    t.test('409 for the name of another tag', async (t) => {
      const first = await seedTag();
      const second = await seedTag();
      assertError(
        t,
        await app.inject({ method: 'PUT', url: `/tags/${second.id}`, headers: await headers(admin), payload: { name: first.name } }),
        409,
      );
      t.same(await row(second.id), second);
    });
    const invalid: [string, unknown][] = [
      ['a name that is not a string', { name: 1 }],
      ['no name', { description: 'x' }],
      ['a field tags do not have', { name: 'x', status: 'approved' }],
      ['an upload_datetime, which tags do not have', { name: 'x', upload_datetime: '2022-01-01T00:00:00Z' }],
      ['an id that is not a UUID', { name: 'x', id: 'gpu' }],
    ];
    for (const [label, payload] of invalid) {
      t.test(`422 for ${label}`, async (t) => {
        const stored = await seedTag();
        assertError(
          t,
          await app.inject({ method: 'PUT', url: `/tags/${stored.id}`, headers: await headers(admin), payload: payload as object }),
          422,
        );
        t.same(await row(stored.id), stored, 'unchanged');
      });
    }
  });

  t.test('DeleteTag DELETE /tags/{tag_id}', async (t) => {
    t.test('204 deletes the tag; results keep existing, unlinked', async (t) => {
      const doomed = await seedTag();
      const kept = await seedTag();
      const seed = seeder(ctx, user);
      const site = await seed.site({ address: 'x' });
      const flavor = await seed.flavor(site.id, { name: 'f' });
      const benchmark = await seed.benchmark({ docker_image: unique('img'), docker_tag: 't' });
      const result = await seed.result(benchmark.id, flavor, { tags: [doomed.id, kept.id] });
      const response = await app.inject({ method: 'DELETE', url: `/tags/${doomed.id}`, headers: await headers(admin) });
      t.equal(response.statusCode, 204, response.body);
      t.equal(response.body, '');
      t.equal(await prisma.tag.count({ where: { id: doomed.id } }), 0, 'tag gone');
      t.equal(await prisma.result.count({ where: { id: result.id } }), 1, 'result stays');
      t.same(
        (await prisma.resultTag.findMany({ where: { result_id: result.id } })).map((link) => link.tag_id),
        [kept.id],
        'only the link to the deleted tag is gone',
      );
      assertError(t, await app.inject({ url: `/tags/${doomed.id}` }), 404);
    });
    t.test('401 without a token', async (t) => {
      const stored = await seedTag();
      assertError(t, await app.inject({ method: 'DELETE', url: `/tags/${stored.id}` }), 401);
      t.equal(await prisma.tag.count({ where: { id: stored.id } }), 1);
    });
    t.test('403 for a user', async (t) => {
      const stored = await seedTag();
      assertError(t, await app.inject({ method: 'DELETE', url: `/tags/${stored.id}`, headers: await headers(user) }), 403);
      t.equal(await prisma.tag.count({ where: { id: stored.id } }), 1);
    });
    t.test('404 for an unknown tag', async (t) => {
      assertError(t, await app.inject({ method: 'DELETE', url: `/tags/${UNKNOWN_ID}`, headers: await headers(admin) }), 404);
    });
    t.test('422 for an id that is not a UUID', async (t) => {
      assertError(t, await app.inject({ method: 'DELETE', url: '/tags/gpu', headers: await headers(admin) }), 422);
    });
  });
});
