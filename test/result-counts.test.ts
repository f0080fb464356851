// The counts of visible results per benchmark, site and flavor that triggers
// keep (result_counts, migration result_counts), which list totals filtered
// by nothing else are summed from: they stay equal to counting the results
// through every way results are written — uploads, claims hiding and
// restoring, deletes and cascades, direct SQL inserts, updates and
// truncation — and under concurrent uploads; and the totals they can answer
// come from them.
import t from 'tap';
import type { Prisma } from '../generated/prisma/client.js';
import { adminPersona, eachDatabase, json, persona, type Test, type TestContext } from './helpers/app.js';
import type { Claim, Results } from './helpers/contract.js';
import { fixtures, type World } from './helpers/fixtures.js';

interface Group {
  benchmark_id: string;
  site_id: string;
  flavor_id: string;
  n: number;
}

/** `rows` as "benchmark site flavor n" lines, sorted, for comparing two groupings. */
function lines(rows: Group[]): string[] {
  return rows.map((row) => `${row.benchmark_id} ${row.site_id} ${row.flavor_id} ${row.n}`).sort();
}

async function kept(ctx: TestContext): Promise<string[]> {
  return lines(
    await ctx.db.prisma.$queryRaw<Group[]>`
      SELECT benchmark_id::text, site_id::text, flavor_id::text, sum(n)::int AS n FROM result_counts
      GROUP BY 1, 2, 3 HAVING sum(n) <> 0`,
  );
}

async function counted(ctx: TestContext): Promise<string[]> {
  return lines(
    await ctx.db.prisma.$queryRaw<Group[]>`
      SELECT benchmark_id::text, site_id::text, flavor_id::text, count(*)::int AS n FROM results
      WHERE NOT deleted GROUP BY 1, 2, 3`,
  );
}

eachDatabase(t, async (t, ctx) => {
  const { app } = ctx;
  const admin = adminPersona();
  const owner = persona('counts');
  await ctx.register(admin);
  await ctx.register(owner);
  const f = fixtures(ctx, admin, owner);
  const one = await f.world({}, { tags: 1 });
  const two = await f.world();
  const otherFlavor = await f.flavor(one.site.id);
  const asAdmin = await ctx.auth(admin);

  /** The `total` of a list (one item per page, so that it is counted rather than read off the page). */
  const total = async (filter: string) => json<Results>(await app.inject({ url: `/results?per_page=1${filter}` })).total;

  /** Every total the counts answer, and the counts themselves, agree with counting the results. */
  async function agree(t: Test, when: string) {
    t.same(await kept(ctx), await counted(ctx), `${when}: result_counts`);
    const visible = (where: object) => ctx.db.prisma.result.count({ where: { deleted: false, ...where } });
    const filters: [string, Record<string, string>][] = [['', {}]];
    for (const w of [one, two]) {
      filters.push(['a benchmark', { benchmark_id: w.benchmark.id }]);
      filters.push(['a site', { site_id: w.site.id }]);
      filters.push(['a flavor', { flavor_id: w.flavor.id }]);
      filters.push(['a benchmark and flavor', { benchmark_id: w.benchmark.id, flavor_id: w.flavor.id }]);
    }
    filters.push(['a site and flavor', { flavor_id: otherFlavor.id, site_id: one.site.id }]);
    for (const [label, where] of filters) {
      const query = Object.entries(where)
        .map(([key, value]) => `&${key}=${value}`)
        .join('');
      t.equal(await total(query), await visible(where), `${when}: total of the results of ${label || 'all'}`);
    }
  }

  const upload = async (w: World, flavor = w.flavor.id) => json<{ id: string }>(await f.uploadRaw(w, { n: 1 }, { flavor })).id;

  t.test('uploads, claims, deletes, direct SQL and truncation', async (t) => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push(await upload(one), await upload(two));
    ids.push(await upload(one, otherFlavor.id));
    await agree(t, 'after uploads');

    const claim = async (id: string) => {
      const response = await app.inject({ method: 'POST', url: `/results/${id}:claim`, headers: asAdmin, payload: { message: 'wrong' } });
      t.equal(response.statusCode, 201, 'claimed');
      return json<Claim>(response).id;
    };
    const rejected = await claim(ids[0]!);
    const approved = await claim(ids[1]!);
    await agree(t, 'while two results are claimed (hidden)');
    t.equal((await app.inject({ method: 'POST', url: `/reports/claims/${rejected}:reject`, headers: asAdmin })).statusCode, 204);
    t.equal((await app.inject({ method: 'POST', url: `/reports/claims/${approved}:approve`, headers: asAdmin })).statusCode, 204);
    await agree(t, 'after a claim refused (shown again) and one upheld');

    t.equal((await app.inject({ method: 'DELETE', url: `/results/${ids[2]}`, headers: asAdmin })).statusCode, 204);
    await agree(t, 'after a result deleted');

    await ctx.db.prisma.$executeRaw`
      INSERT INTO results (id, json, execution_datetime, benchmark_id, site_id, flavor_id, uploader_sub, uploader_iss)
      SELECT gen_random_uuid(), '{}', now(), b, s, fl, ${owner.sub}, ${ctx.oidc.issuer}
      FROM (VALUES (${one.benchmark.id}::uuid, ${one.site.id}::uuid, ${one.flavor.id}::uuid),
                   (${two.benchmark.id}::uuid, ${two.site.id}::uuid, ${two.flavor.id}::uuid)) AS g(b, s, fl),
           generate_series(1, 50)`;
    await agree(t, 'after a direct SQL insert of 100 rows in two groups');

    await ctx.db.prisma.$executeRaw`UPDATE results SET flavor_id = ${otherFlavor.id}::uuid WHERE id = ${ids[4]}::uuid`;
    await ctx.db.prisma.$executeRaw`UPDATE results SET json = '{"n": 2}' WHERE benchmark_id = ${two.benchmark.id}::uuid`;
    await agree(t, 'after updates moving one result and rewriting others');

    t.equal((await app.inject({ method: 'DELETE', url: `/flavors/${otherFlavor.id}`, headers: asAdmin })).statusCode, 204);
    await agree(t, 'after a flavor deleted with its results (cascade)');
  });

  t.test('totals by benchmark, site and flavor alone come from the counts; narrower ones are counted', async (t) => {
    const w = await f.world();
    await upload(w);
    await upload(w);
    // Written with the triggers off: the counts do not know it, counting does.
    const unnoticed = (statement: (tx: Prisma.TransactionClient) => Promise<number>) =>
      ctx.db.prisma.$transaction(async (tx) => {
        await tx.$executeRaw`SET LOCAL session_replication_role = replica`;
        await statement(tx);
      });
    await unnoticed(
      (tx) => tx.$executeRaw`
        INSERT INTO results (id, json, execution_datetime, benchmark_id, site_id, flavor_id, uploader_sub, uploader_iss)
        VALUES ('00000000-0000-4000-8000-00000000c0de', '{}', now(), ${w.benchmark.id}::uuid, ${w.site.id}::uuid,
                ${w.flavor.id}::uuid, ${owner.sub}, ${ctx.oidc.issuer})`,
    );
    t.teardown(() => unnoticed((tx) => tx.$executeRaw`DELETE FROM results WHERE id = '00000000-0000-4000-8000-00000000c0de'`));
    t.equal(await total(`&benchmark_id=${w.benchmark.id}`), 2, 'by benchmark: the counts');
    t.equal(await total(`&site_id=${w.site.id}&flavor_id=${w.flavor.id}`), 2, 'by site and flavor: the counts');
    t.equal(await total(`&benchmark_id=${w.benchmark.id}&execution_before=2999-01-01T00:00:00Z`), 3, 'with a date: counted');
    t.equal(await total(`&benchmark_id=${w.benchmark.id}&filters=${encodeURIComponent('n == 1')}`), 2, 'with a filter: counted');
  });

  t.test('40 concurrent uploads to one group are each counted once', async (t) => {
    const w = await f.world();
    const answers = await Promise.all(Array.from({ length: 40 }, () => f.uploadRaw(w, { n: 1 })));
    t.same(
      answers.map((answer) => answer.statusCode),
      Array(40).fill(201),
    );
    t.equal(await total(`&benchmark_id=${w.benchmark.id}`), 40);
    const [rows] = await ctx.db.prisma.$queryRaw<{ rows: number }[]>`
      SELECT count(*)::int AS rows FROM result_counts WHERE benchmark_id = ${w.benchmark.id}::uuid`;
    t.ok(rows!.rows >= 1 && rows!.rows <= 16, `kept in 1–16 rows (slots), not one per upload: ${rows!.rows}`);
    await agree(t, 'after concurrent uploads');
  });

  t.test('TRUNCATE empties the counts', async (t) => {
    await ctx.db.prisma.$executeRaw`TRUNCATE results CASCADE`;
    t.same(await kept(ctx), [], 'nothing counted');
    await agree(t, 'after TRUNCATE');
  });
});
