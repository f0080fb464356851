// Several instances of the service on one PostgreSQL, as behind a load
// balancer, each remembering results pages (RESULTS_CACHE_MS far longer than
// the test): a write through one instance, or straight into the database,
// is seen by the very next read through any other (src/db/change-feed.ts).
// While an instance cannot listen, it answers from the database, never from
// memory.
import { Writable } from 'node:stream';
import pg from 'pg';
import { pino } from 'pino';
import t from 'tap';
import { LISTENER_APPLICATION_NAME } from '../src/db/change-feed.js';
import { adminPersona, createTestInstances, json, persona, type Test, type TestContext } from './helpers/app.js';
import type { Results } from './helpers/contract.js';
import { fixtures, type World } from './helpers/fixtures.js';

const INSTANCES = 3;
/** Writes in the main loop: an upload, a tag change, a claim, a catalog edit and a direct SQL insert, in turn. */
const ITERATIONS = 300;

/** A logger per instance whose messages the test can wait for. */
function recordingLogger() {
  const messages: string[] = [];
  const waiters: { text: string; resolve: () => void }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const { msg } = JSON.parse(chunk.toString()) as { msg: string };
      messages.push(msg);
      for (const waiter of waiters.filter((w) => msg.includes(w.text))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
      done();
    },
  });
  return {
    logger: pino({ level: 'info' }, stream),
    messages,
    /** Resolves at the next message containing `text` logged after this call. */
    next: (text: string) => new Promise<void>((resolve) => waiters.push({ text, resolve })),
  };
}

interface Setup {
  instances: TestContext[];
  sql: pg.Client;
  world: World;
  owner: ReturnType<typeof persona>;
  admin: ReturnType<typeof persona>;
  logs: ReturnType<typeof recordingLogger>[];
}

async function setUp(t: Test): Promise<Setup | null> {
  const logs = Array.from({ length: INSTANCES }, recordingLogger);
  const started = await createTestInstances(
    t,
    INSTANCES,
    { RESULTS_CACHE_MS: '3600000' },
    logs.map((log) => log.logger),
  );
  if (!started) return null;
  const { instances, databaseUrl } = started;
  const sql = new pg.Client({ connectionString: databaseUrl });
  await sql.connect();
  t.teardown(() => sql.end());
  const [first] = instances as [TestContext];
  const admin = adminPersona();
  const owner = persona('many-instances');
  await first.register(admin);
  await first.register(owner);
  const world = await fixtures(first, admin, owner).world({}, { tags: 1 });
  return { instances, sql, world, owner, admin, logs };
}

/** A result written straight into the database, as a script or psql would: its id. */
async function insertDirectly(setup: Setup, json: object): Promise<string> {
  const { world, owner, instances } = setup;
  const { rows } = await setup.sql.query<{ id: string }>(
    `INSERT INTO results (id, json, execution_datetime, benchmark_id, site_id, flavor_id, uploader_sub, uploader_iss)
     VALUES (gen_random_uuid(), $1, now(), $2, $3, $4, $5, $6) RETURNING id`,
    [JSON.stringify(json), world.benchmark.id, world.site.id, world.flavor.id, owner.sub, instances[0]!.oidc.issuer],
  );
  return rows[0]!.id;
}

/** Changes a benchmark's description with the database's triggers off: nobody is told. */
async function describeUnnoticed(setup: Setup, description: string): Promise<void> {
  await setup.sql.query('BEGIN');
  await setup.sql.query('SET LOCAL session_replication_role = replica');
  await setup.sql.query('UPDATE benchmarks SET description = $1 WHERE id = $2', [description, setup.world.benchmark.id]);
  await setup.sql.query('COMMIT');
}

async function page(instance: TestContext, url: string): Promise<Results> {
  const response = await instance.app.inject({ url });
  if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode} ${response.body}`);
  return json<Results>(response);
}

t.test('instances on one PostgreSQL read every committed write at once', async (t) => {
  const setup = await setUp(t);
  if (!setup) {
    t.skip('no PostgreSQL server binaries on this machine (install postgresql or set TEST_DATABASE_URL)', () => {});
    return;
  }
  const { instances, world, owner, admin } = setup;
  const benchmark = world.benchmark.id;
  const tag = world.tags[0]!.id;
  // The newest-numbered results first; the tagged ones of them.
  const latest = `/results?benchmark_id=${benchmark}&sort_by=-json.i&per_page=5`;
  const tagged = `/results?benchmark_id=${benchmark}&tags_ids=${tag}`;

  t.test('the cache is in use on every instance', async (t) => {
    await insertDirectly(setup, { i: 0 });
    for (const instance of instances) t.equal((await page(instance, latest)).items[0]!.benchmark.description, '');
    await describeUnnoticed(setup, 'unnoticed');
    for (const [n, instance] of instances.entries()) {
      t.equal((await page(instance, latest)).items[0]!.benchmark.description, '', `instance ${n} answers from memory`);
    }
    await setup.sql.query('UPDATE benchmarks SET description = $1 WHERE id = $2', ['noticed', benchmark]);
    for (const [n, instance] of instances.entries()) {
      t.equal((await page(instance, latest)).items[0]!.benchmark.description, 'noticed', `instance ${n} forgot it at the commit`);
    }
  });

  t.test(`${ITERATIONS} writes, each read back at once through the other instances`, async (t) => {
    // What the pages must show: the visible results by number, which carry the tag, the benchmark's description.
    const visible = new Map<number, { id: string; tagged: boolean }>();
    const [zero] = (await page(instances[0]!, latest)).items;
    visible.set(0, { id: zero!.id, tagged: false });
    let description = 'noticed';
    let next = 1;
    const tokens = { owner: await instances[0]!.auth(owner), admin: await instances[0]!.auth(admin) };
    const newest = () => Math.max(...visible.keys());
    let failures = 0;

    for (let round = 0; round < ITERATIONS; round += 1) {
      const writer = instances[round % INSTANCES]!;
      const readers = instances.filter((instance) => instance !== writer);
      // Every reader has the pages in memory before the write.
      await Promise.all(readers.flatMap((reader) => [page(reader, latest), page(reader, tagged)]));
      let what: string;
      switch (round % 5) {
        case 0: {
          what = 'an upload';
          const i = next++;
          const response = await writer.app.inject({
            method: 'POST',
            url: `/results?execution_datetime=2024-01-01T00:00:00Z&benchmark_id=${benchmark}&flavor_id=${world.flavor.id}`,
            headers: tokens.owner,
            payload: { i },
          });
          if (response.statusCode !== 201) throw new Error(`upload: ${response.statusCode} ${response.body}`);
          visible.set(i, { id: json<{ id: string }>(response).id, tagged: false });
          break;
        }
        case 1: {
          what = 'a tag change';
          const target = visible.get(newest())!;
          target.tagged = !target.tagged;
          const response = await writer.app.inject({
            method: 'PUT',
            url: `/results/${target.id}/tags`,
            headers: tokens.owner,
            payload: { tags_ids: target.tagged ? [tag] : [] },
          });
          if (response.statusCode !== 204) throw new Error(`tags: ${response.statusCode} ${response.body}`);
          break;
        }
        case 2: {
          what = 'a claim';
          const top = newest();
          const response = await writer.app.inject({
            method: 'POST',
            url: `/results/${visible.get(top)!.id}:claim`,
            headers: tokens.admin,
            payload: { message: `round ${round}` },
          });
          if (response.statusCode !== 201) throw new Error(`claim: ${response.statusCode} ${response.body}`);
          visible.delete(top);
          break;
        }
        case 3: {
          what = 'a catalog edit';
          description = `round ${round}`;
          const response = await writer.app.inject({
            method: 'PUT',
            url: `/benchmarks/${benchmark}`,
            headers: tokens.admin,
            payload: {
              docker_image: world.benchmark.docker_image,
              docker_tag: world.benchmark.docker_tag,
              json_schema: {},
              description,
            },
          });
          if (response.statusCode !== 204) throw new Error(`benchmark: ${response.statusCode} ${response.body}`);
          break;
        }
        default: {
          what = 'a direct SQL insert';
          const i = next++;
          visible.set(i, { id: await insertDirectly(setup, { i }), tagged: false });
        }
      }
      const expected = {
        total: visible.size,
        first: visible.get(newest())!.id,
        tagged: [...visible.values()].filter((result) => result.tagged).length,
        description,
      };
      const reads = await Promise.all(
        readers.map(async (reader) => {
          const [l, g] = await Promise.all([page(reader, latest), page(reader, tagged)]);
          return { total: l.total, first: l.items[0]!.id, tagged: g.total, description: l.items[0]!.benchmark.description };
        }),
      );
      for (const read of reads) {
        if (JSON.stringify(read) !== JSON.stringify(expected)) {
          failures += 1;
          t.same(read, expected, `round ${round}: ${what} through instance ${round % INSTANCES}`);
        }
      }
    }
    t.equal(failures, 0, `every read after each of ${ITERATIONS} writes saw it`);
  });

  t.test('an instance that cannot listen answers from the database, then listens again', async (t) => {
    const { logs, sql } = setup;
    // Remembered everywhere, then changed behind every instance's back.
    for (const instance of instances) await page(instance, latest);
    const back = logs.map((log) => log.next('the results cache is in use'));
    const { rows } = await sql.query('SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity WHERE application_name = $1', [
      LISTENER_APPLICATION_NAME,
    ]);
    t.equal(rows.length, INSTANCES, 'one listening connection per instance');
    await describeUnnoticed(setup, 'while deaf');
    for (const [n, instance] of instances.entries()) {
      t.equal((await page(instance, latest)).items[0]!.benchmark.description, 'while deaf', `instance ${n}: not from memory`);
    }
    await Promise.all(back);
    t.ok(
      logs.every((log) => log.messages.some((msg) => msg.includes('the results cache is bypassed'))),
      'each instance said it stopped trusting its memory',
    );
    // Listening again: the cache is used (an unnoticed change stays unseen) and exact (a noticed one is seen).
    for (const instance of instances) await page(instance, latest);
    await describeUnnoticed(setup, 'unnoticed again');
    for (const [n, instance] of instances.entries()) {
      t.equal((await page(instance, latest)).items[0]!.benchmark.description, 'while deaf', `instance ${n}: from memory again`);
    }
    const id = await insertDirectly(setup, { i: 1_000_000 });
    for (const [n, instance] of instances.entries()) {
      t.equal((await page(instance, latest)).items[0]!.id, id, `instance ${n}: a commit is seen at once again`);
    }
  });
});
