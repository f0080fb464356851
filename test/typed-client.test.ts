// A client generated from our own openapi.yaml (openapi-typescript's
// generated/openapi.ts + openapi-fetch), over real HTTP, walking what a user
// and an administrator do: register, create and approve a benchmark, site and
// flavor, tag, upload, filter, claim, uphold the claim. Every path, parameter
// and body is checked against the spec by the type check of `npm test`, and
// every answer's shape is the one the client's types promise.
import createClient from 'openapi-fetch';
import t from 'tap';
import type { paths } from '../generated/openapi.js';
import { adminPersona, eachDatabase, persona } from './helpers/app.js';

eachDatabase(t, async (t, ctx) => {
  const address = await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  const client = createClient<paths>({ baseUrl: address });
  const admin = adminPersona();
  const user = persona('typed-client');
  const asUser = await ctx.auth(user);
  const asAdmin = await ctx.auth(admin);

  t.test('register, create, approve, upload, filter, claim, uphold', async (t) => {
    for (const headers of [asUser, asAdmin]) {
      const registered = await client.POST('/users:register', { headers });
      t.equal(registered.response.status, 201);
    }
    const self = await client.GET('/users/self', { headers: asUser });
    t.equal(self.data?.sub, user.sub);

    const benchmark = await client.POST('/benchmarks', {
      headers: asUser,
      body: {
        docker_image: `typed/${Date.now()}`,
        docker_tag: 'v1',
        json_schema: { type: 'object', properties: { score: { type: 'number' } }, required: ['score'] },
        description: 'through the typed client',
      },
    });
    t.equal(benchmark.response.status, 201);
    const site = await client.POST('/sites', {
      headers: asUser,
      body: { name: `typed-site-${Date.now()}`, address: 'https://typed.example.org' },
    });
    t.equal(site.response.status, 201);
    const siteId = site.data!.id;
    const flavor = await client.POST('/sites/{site_id}/flavors', {
      headers: asUser,
      params: { path: { site_id: siteId } },
      body: { name: 'typed-flavor' },
    });
    t.equal(flavor.response.status, 201);
    const benchmarkId = benchmark.data!.id;
    const flavorId = flavor.data!.id;

    t.equal(
      (await client.POST('/benchmarks/{benchmark_id}:approve', { headers: asAdmin, params: { path: { benchmark_id: benchmarkId } } }))
        .response.status,
      204,
    );
    t.equal(
      (await client.POST('/sites/{site_id}:approve', { headers: asAdmin, params: { path: { site_id: siteId } } })).response.status,
      204,
    );
    t.equal(
      (await client.POST('/flavors/{flavor_id}:approve', { headers: asAdmin, params: { path: { flavor_id: flavorId } } })).response.status,
      204,
    );

    const tag = await client.POST('/tags', { headers: asUser, body: { name: `typed-${Date.now()}`, description: 'typed' } });
    t.equal(tag.response.status, 201);
    const tagId = tag.data!.id;

    const ids: string[] = [];
    for (const score of [10, 20, 30]) {
      const uploaded = await client.POST('/results', {
        headers: asUser,
        params: {
          query: { benchmark_id: benchmarkId, flavor_id: flavorId, execution_datetime: '2026-01-01T00:00:00Z', tags_ids: [tagId] },
        },
        body: { score },
      });
      t.equal(uploaded.response.status, 201);
      t.equal(uploaded.data?.benchmark.id, benchmarkId);
      ids.push(uploaded.data!.id);
    }
    const invalid = await client.POST('/results', {
      headers: asUser,
      params: { query: { benchmark_id: benchmarkId, flavor_id: flavorId, execution_datetime: '2026-01-01T00:00:00Z' } },
      body: { score: 'high' },
    });
    t.equal(invalid.response.status, 422, 'a result its schema refuses');
    t.equal(invalid.error?.error_code, 'result_invalid');

    const filtered = await client.GET('/results', {
      params: { query: { benchmark_id: benchmarkId, tags_ids: [tagId], filters: ['score > 15'], sort_by: '-json.score', per_page: 10 } },
    });
    t.equal(filtered.response.status, 200);
    t.same(
      filtered.data?.items.map((item) => item.json),
      [{ score: 30 }, { score: 20 }],
    );
    t.equal(filtered.data?.total, 2);

    const claim = await client.POST('/results/{result_id}:claim', {
      headers: asUser,
      params: { path: { result_id: ids[0]! } },
      body: { message: 'measured on the wrong flavor' },
    });
    t.equal(claim.response.status, 201);
    const claims = await client.GET('/reports/claims', { headers: asAdmin, params: { query: { status: 'on_review' } } });
    t.ok(claims.data?.items.some((item) => item.id === claim.data!.id));
    t.equal(
      (await client.POST('/reports/claims/{report_id}:approve', { headers: asAdmin, params: { path: { report_id: claim.data!.id } } }))
        .response.status,
      204,
    );
    const left = await client.GET('/results', { params: { query: { benchmark_id: benchmarkId } } });
    t.same(left.data?.items.map((item) => item.id).sort(), ids.slice(1).sort(), 'the upheld claim took its result out');
  });
});
