// Hostile benchmark schemas (src/results/validation/validator.ts): a result
// whose check against its benchmark's JSON Schema would take minutes — a
// catastrophically backtracking `pattern`, `uniqueItems` over a large array
// of objects — is refused with a 422 at VALIDATION_TIMEOUT_MS, the service
// answers other requests meanwhile, and the next upload is checked as usual.
import t from 'tap';
import { adminPersona, eachDatabase, persona } from './helpers/app.js';
import { assertError } from './helpers/assertions.js';
import { fixtures } from './helpers/fixtures.js';

/**
 * Far below what the hostile checks below take (minutes, and seconds), and far
 * above a plain check (well under a millisecond): on this 2-core machine,
 * shared in CI with PostgreSQL and a browser, a plain check's thread was once
 * kept from running for over 300 ms.
 */
const TIMEOUT_MS = 1000;
/**
 * A check on the main thread would hold every request for the minutes the
 * pattern takes; off it, a read answers at once. This bound tells the two
 * apart with room for a busy machine.
 */
const READ_BOUND_MS = 5000;

eachDatabase(
  t,
  async (t, ctx) => {
    const admin = adminPersona('validation-admin');
    const owner = persona('validation-owner');
    await ctx.register(admin);
    await ctx.register(owner);
    const { world, uploadRaw, upload } = fixtures(ctx, admin, owner);
    const stored = (benchmarkId: string) => ctx.db.prisma.result.count({ where: { benchmark_id: benchmarkId } });

    /** Uploads `body`, and meanwhile times a read of another resource. */
    async function uploadWhileReading(w: Awaited<ReturnType<typeof world>>, body: object) {
      const started = performance.now();
      const uploading = uploadRaw(w, body);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const readStarted = performance.now();
      const read = await ctx.app.inject({ url: '/tags' });
      const readMs = performance.now() - readStarted;
      const response = await uploading;
      return { response, readStatus: read.statusCode, readMs, totalMs: performance.now() - started };
    }

    t.test('422 at the deadline for a pattern that backtracks catastrophically', async (t) => {
      const w = await world({ type: 'object', properties: { name: { type: 'string', pattern: '^(a+)+$' } } });
      const { response, readStatus, readMs, totalMs } = await uploadWhileReading(w, { name: `${'a'.repeat(64)}!` });
      const error = assertError(t, response, 422);
      t.match(error.message, new RegExp(`within ${TIMEOUT_MS} ms`));
      t.same(error.errors, { body: 'validation took too long' });
      t.equal(readStatus, 200);
      t.ok(readMs < READ_BOUND_MS, `another request answered in ${readMs.toFixed(0)} ms while the check ran`);
      t.ok(totalMs < 20_000, `refused after ${totalMs.toFixed(0)} ms, not after the minutes the pattern would take`);
      t.equal(await stored(w.benchmark.id), 0, 'nothing stored');

      const fine = await upload(w, { name: 'aaaa' });
      t.equal(fine.json.name, 'aaaa', 'the next upload is checked and stored as usual');
      assertError(t, await uploadRaw(w, { name: 'b' }), 422);
    });

    t.test('422 at the deadline for uniqueItems over a large array of objects', async (t) => {
      const w = await world({ type: 'object', properties: { list: { type: 'array', uniqueItems: true } } });
      const list = Array.from({ length: 30_000 }, (_, i) => ({ i }));
      const { response, readStatus, readMs } = await uploadWhileReading(w, { list });
      assertError(t, response, 422);
      t.equal(readStatus, 200);
      t.ok(readMs < READ_BOUND_MS, `another request answered in ${readMs.toFixed(0)} ms`);
      t.equal(await stored(w.benchmark.id), 0);
      const listed = await upload(w, { list: [{ i: 1 }, { i: 2 }] });
      t.same(listed.json, { list: [{ i: 1 }, { i: 2 }] }, 'the next upload is checked and stored as usual');
    });

    t.test('201 for many uploads at once: checks queue for the threads, none times out', async (t) => {
      const w = await world({ type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] });
      const responses = await Promise.all(Array.from({ length: 50 }, (_, n) => uploadRaw(w, { n })));
      t.same(
        responses.map((response) => response.statusCode),
        Array(50).fill(201),
      );
      t.equal(await stored(w.benchmark.id), 50);
    });
  },
  { VALIDATION_TIMEOUT_MS: String(TIMEOUT_MS), VALIDATION_THREADS: '2' },
);
