// Remembered result counts (src/db/results-query.ts): a write through the
// API is counted at once; a write the service did not see (another instance,
// a script) is counted within COUNT_TTL_MS.
import t from 'tap';
import { COUNT_TTL_MS } from '../src/db/results-query.js';
import { adminPersona, eachDatabase, json, persona } from './helpers/app.js';

eachDatabase(t, async (t, ctx) => {
  const { app } = ctx;
  const admin = adminPersona();
  const user = persona('counter');
  await ctx.register(admin);
  await ctx.register(user);
  const asAdmin = await ctx.auth(admin);
  const asUser = await ctx.auth(user);
  const created = async (url: string, payload: object) => {
    const response = await app.inject({ method: 'POST', url, headers: asUser, payload });
    t.equal(response.statusCode, 201, response.body);
    return json<{ id: string }>(response).id;
  };
  const benchmark = await created('/benchmarks', { docker_image: 'count/me', docker_tag: '1', json_schema: {} });
  const site = await created('/sites', { name: 'count-site', address: 'here' });
  const flavor = await created(`/sites/${site}/flavors`, { name: 'count-flavor' });
  for (const url of [`/benchmarks/${benchmark}:approve`, `/sites/${site}:approve`, `/flavors/${flavor}:approve`]) {
    t.equal((await app.inject({ method: 'POST', url, headers: asAdmin })).statusCode, 204);
  }
  const upload = () =>
    app.inject({
      method: 'POST',
      url: `/results?execution_datetime=2024-01-01T00:00:00Z&benchmark_id=${benchmark}&flavor_id=${flavor}`,
      headers: asUser,
      payload: { n: 1 },
    });
  const total = async () => json<{ total: number }>(await app.inject({ url: `/results?benchmark_id=${benchmark}` })).total;

  t.test('a write through the API is counted at once', async (t) => {
    t.equal(await total(), 0);
    t.equal((await upload()).statusCode, 201);
    t.equal(await total(), 1, 'not the remembered 0');
    const id = json<{ items: { id: string }[] }>(await app.inject({ url: `/results?benchmark_id=${benchmark}` })).items[0]!.id;
    t.equal((await app.inject({ method: 'POST', url: `/results/${id}:claim`, headers: asUser, payload: { message: 'x' } })).statusCode, 201);
    t.equal(await total(), 0, 'a claim hides it from the count at once');
  });

  t.test('a write the service did not see is counted within COUNT_TTL_MS', async (t) => {
    const before = await total();
    await ctx.db.prisma.result.create({
      data: {
        json: { n: 2 },
        execution_datetime: new Date('2024-01-02T00:00:00Z'),
        benchmark_id: benchmark,
        site_id: site,
        flavor_id: flavor,
        uploader_sub: user.sub,
        uploader_iss: ctx.oidc.issuer,
      },
    });
    await new Promise((resolve) => setTimeout(resolve, COUNT_TTL_MS + 100));
    t.equal(await total(), before + 1);
  });
});
