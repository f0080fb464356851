// Benchmark runs on PGlite and on PostgreSQL: a user asks for a run, a runner
// of the flavor's site takes it, reports and sends its output, which becomes
// an ordinary result. Every status code of every runs operation, the order
// of checks (who may call before what they send), exactly-once taking under
// concurrency, cancellation while running, output that fails its schema,
// injection-shaped parameters, and the benchmark's parameters_schema.
import type { LightMyRequestResponse } from 'fastify';
import t from 'tap';
import { adminPersona, eachDatabase, json, type Persona, persona, type Test as Tap, type TestContext } from './helpers/app.js';
import { assertError, assertPageResponse } from './helpers/assertions.js';
import {
  BENCHMARK_KEYS,
  type Benchmark,
  type Result,
  RUN_KEYS,
  type Run,
  type RunAssignment,
  type RunLease,
  type RunQueue,
  type SiteRunners,
  type User,
} from './helpers/contract.js';
import { fixtures, UNKNOWN_ID, uniqueDashed } from './helpers/fixtures.js';
import type { ReceivedMail } from './helpers/smtp.js';

const RESULT_SCHEMA = {
  type: 'object',
  required: ['result'],
  properties: { result: { type: 'object', required: ['score'], properties: { score: { type: 'number' } } } },
};
const PARAMETERS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: { threads: { type: 'integer', minimum: 1, maximum: 256 }, scene: { type: 'string' } },
};

type Call = (method: string, url: string, who?: Persona, payload?: unknown) => Promise<LightMyRequestResponse>;

function caller(ctx: TestContext): Call {
  return async (method, url, who, payload) =>
    ctx.app.inject({
      method: method as 'GET',
      url,
      headers: {
        ...(who ? await ctx.auth(who) : {}),
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
    });
}

function assertRun(t: Tap, response: LightMyRequestResponse, status: number, expected: Partial<Run>): Run {
  t.equal(response.statusCode, status, response.body.slice(0, 500));
  const run = json<Run>(response);
  t.same(Object.keys(run).sort(), RUN_KEYS, 'exactly the Run fields: no requester, no runner identity');
  t.match(run, expected);
  return run;
}

/** The first e-mail of `event` to `to` (polled, as delivery happens after the answer). */
async function mailOf(ctx: TestContext, event: string, to: string | undefined, text = ''): Promise<ReceivedMail | undefined> {
  const find = () =>
    ctx.smtp.messages.find(
      (m) => m.headers.get('x-eosc-perf-event') === event && m.envelope.to.includes(to ?? '') && m.text.includes(text),
    );
  for (let i = 0; i < 100 && !find(); i += 1) await new Promise((resolve) => setTimeout(resolve, 50));
  return find();
}

/** Everything a suite needs: people, an approved benchmark with parameters, two sites, their runners. */
async function world(ctx: TestContext) {
  const admin = adminPersona('runs-admin');
  const alice = persona('runs-alice');
  const bob = persona('runs-bob');
  const runner = persona('runs-runner');
  const otherRunner = persona('runs-other-runner');
  const stranger = persona('runs-stranger');
  for (const who of [admin, alice, bob, runner, otherRunner, stranger]) await ctx.register(who);
  const fx = fixtures(ctx, admin, alice);
  const created = await fx.post<Benchmark>('/benchmarks', alice, {
    docker_image: `${uniqueDashed('runs')}/c-ray`,
    docker_tag: 'latest',
    json_schema: RESULT_SCHEMA,
    parameters_schema: PARAMETERS_SCHEMA,
  });
  await fx.approve(`/benchmarks/${created.id}:approve`);
  const siteA = await fx.site();
  const flavorA = await fx.flavor(siteA.id);
  const siteB = await fx.site();
  const flavorB = await fx.flavor(siteB.id);
  const tag = await fx.tag();
  const call = caller(ctx);
  const identity = (who: Persona) => ({ sub: who.sub, iss: ctx.oidc.issuer });
  const designate = async (siteId: string, who: Persona[]) => {
    const response = await call('PUT', `/sites/${siteId}/runners`, admin, { runners: who.map(identity) });
    if (response.statusCode !== 200) throw new Error(`PUT runners: ${response.statusCode} ${response.body}`);
  };
  await designate(siteA.id, [runner]);
  await designate(siteB.id, [otherRunner]);
  const ask = async (body: Record<string, unknown> = {}, who = alice) => {
    const response = await call('POST', '/runs', who, { benchmark_id: created.id, flavor_id: flavorA.id, ...body });
    if (response.statusCode !== 201) throw new Error(`POST /runs: ${response.statusCode} ${response.body}`);
    return json<Run>(response);
  };
  const take = async (siteId = siteA.id, who = runner) => call('POST', `/sites/${siteId}/runs:take`, who);
  const takeOne = async (siteId = siteA.id, who = runner) => {
    const response = await take(siteId, who);
    if (response.statusCode !== 200) throw new Error(`take: ${response.statusCode} ${response.body}`);
    return json<RunAssignment>(response);
  };
  return {
    admin,
    alice,
    bob,
    runner,
    otherRunner,
    stranger,
    fx,
    benchmark: created,
    siteA,
    flavorA,
    siteB,
    flavorB,
    tag,
    call,
    identity,
    designate,
    ask,
    take,
    takeOne,
  };
}

eachDatabase(t, async (t, ctx) => {
  const w = await world(ctx);
  const { call, admin, alice, bob, runner, otherRunner, stranger } = w;

  t.test('a benchmark may declare the parameters of its runs', async (t) => {
    const got = json<Benchmark>(await call('GET', `/benchmarks/${w.benchmark.id}`));
    t.same(got.parameters_schema, PARAMETERS_SCHEMA, 'parameters_schema is shown');
    const plain = await w.fx.benchmark({});
    const shown = json<Benchmark>(await call('GET', `/benchmarks/${plain.id}`));
    t.same(Object.keys(shown).sort(), BENCHMARK_KEYS, 'absent when the benchmark has none: existing clients see what they always saw');
    const listed = json<{ items: Benchmark[] }>(
      await call('GET', `/benchmarks?docker_image=${encodeURIComponent(w.benchmark.docker_image)}`),
    );
    t.same(listed.items[0]?.parameters_schema, PARAMETERS_SCHEMA, 'in lists too');

    const invalid = await call('POST', '/benchmarks', alice, {
      docker_image: `${uniqueDashed('runs')}/bad`,
      docker_tag: 'v1',
      json_schema: {},
      parameters_schema: { type: 'object', properties: { threads: { type: 'no-such-type' } } },
    });
    const body = assertError(t, invalid, 422);
    t.equal(body.error_code, 'invalid_json_schema');
    t.match(body.message, /^parameters_schema is not a valid JSON Schema/);
    t.ok(body.errors?.['body.parameters_schema'], 'names the field');

    const update = (parameters: unknown) =>
      call('PUT', `/benchmarks/${plain.id}`, admin, {
        docker_image: plain.docker_image,
        docker_tag: plain.docker_tag,
        json_schema: {},
        ...(parameters === undefined ? {} : { parameters_schema: parameters }),
      });
    t.equal((await update(PARAMETERS_SCHEMA)).statusCode, 204);
    t.same(json<Benchmark>(await call('GET', `/benchmarks/${plain.id}`)).parameters_schema, PARAMETERS_SCHEMA, 'set by an update');
    t.equal((await update(undefined)).statusCode, 204);
    t.same(json<Benchmark>(await call('GET', `/benchmarks/${plain.id}`)).parameters_schema, PARAMETERS_SCHEMA, 'kept when omitted');
    t.equal((await update(null)).statusCode, 204);
    t.notOk('parameters_schema' in json<Benchmark>(await call('GET', `/benchmarks/${plain.id}`)), 'removed by null');
  });

  t.test('PUT, GET, DELETE /sites/{site_id}/runners', async (t) => {
    const site = await w.fx.site();
    const url = `/sites/${site.id}/runners`;
    t.test('200: the runners, as stored, with their e-mail and last poll', async (t) => {
      const response = await call('PUT', url, admin, { runners: [w.identity(runner), w.identity(otherRunner), w.identity(runner)] });
      t.equal(response.statusCode, 200);
      const body = json<SiteRunners>(response);
      t.equal(body.site_id, site.id);
      t.same(body.runners.map((r) => r.sub).sort(), [runner.sub, otherRunner.sub].sort(), 'each identity once');
      t.match(
        body.runners.find((r) => r.sub === runner.sub),
        { iss: ctx.oidc.issuer, email: runner.email, last_poll_datetime: null },
      );
      const designated = body.runners.find((r) => r.sub === runner.sub)?.designation_datetime;
      const again = json<SiteRunners>(await call('PUT', url, admin, { runners: [w.identity(runner)] }));
      t.same(
        again.runners.map((r) => [r.sub, r.designation_datetime]),
        [[runner.sub, designated]],
        'a runner kept keeps its designation; the others are gone',
      );
      t.same(json<SiteRunners>(await call('GET', url, admin)), again, 'GET answers the same');
    });
    t.test('204: DELETE removes every runner', async (t) => {
      t.equal((await call('DELETE', url, admin)).statusCode, 204);
      t.same(json<SiteRunners>(await call('GET', url, admin)).runners, []);
    });
    t.test('401: without a token', async (t) => {
      assertError(t, await call('GET', url), 401);
      assertError(t, await call('PUT', url, undefined, { runners: [] }), 401);
      assertError(t, await call('DELETE', url), 401);
    });
    t.test('403: not an administrator, whatever the body', async (t) => {
      assertError(t, await call('GET', url, runner), 403);
      assertError(t, await call('PUT', url, runner, { runners: 'everyone' }), 403);
      assertError(t, await call('DELETE', url, runner), 403);
    });
    t.test('404: an unknown site', async (t) => {
      assertError(t, await call('GET', `/sites/${UNKNOWN_ID}/runners`, admin), 404);
      assertError(t, await call('PUT', `/sites/${UNKNOWN_ID}/runners`, admin, { runners: [] }), 404);
      assertError(t, await call('DELETE', `/sites/${UNKNOWN_ID}/runners`, admin), 404);
    });
    t.test('422: an identity that is no registered user, or a malformed body', async (t) => {
      const body = assertError(
        t,
        await call('PUT', url, admin, { runners: [w.identity(runner), { sub: 'nobody', iss: ctx.oidc.issuer }] }),
        422,
      );
      t.match(body.message, 'nobody (issuer');
      t.same(body.errors, { 'body.runners[1]': 'not a registered user' });
      t.same(json<SiteRunners>(await call('GET', url, admin)).runners, [], 'nothing was changed');
      assertError(t, await call('PUT', url, admin, { runners: [{ sub: runner.sub }] }), 422);
      assertError(t, await call('GET', '/sites/not-a-uuid/runners', admin), 422);
    });
  });

  t.test('POST /runs', async (t) => {
    t.test('201: the queued run', async (t) => {
      const response = await call('POST', '/runs', alice, {
        benchmark_id: w.benchmark.id,
        flavor_id: w.flavorA.id,
        parameters: { threads: 8 },
        tags_ids: [w.tag.id, w.tag.id],
      });
      const run = assertRun(t, response, 201, {
        status: 'queued',
        benchmark_id: w.benchmark.id,
        site_id: w.siteA.id,
        flavor_id: w.flavorA.id,
        parameters: { threads: 8 },
        tags_ids: [w.tag.id],
        start_datetime: null,
        heartbeat_datetime: null,
        finish_datetime: null,
        lease_deadline: null,
        attempts: 0,
        failure_reason: null,
        result_id: null,
      });
      t.match(run.submit_datetime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      await call('POST', `/runs/${run.id}:cancel`, alice);
    });
    t.test('401: without a token', async (t) => {
      assertError(t, await call('POST', '/runs', undefined, { benchmark_id: w.benchmark.id, flavor_id: w.flavorA.id }), 401);
    });
    t.test('403: a token of someone not registered', async (t) => {
      assertError(
        t,
        await call('POST', '/runs', persona('runs-unregistered'), { benchmark_id: w.benchmark.id, flavor_id: w.flavorA.id }),
        403,
      );
    });
    t.test('404: an unknown benchmark, flavor or tag', async (t) => {
      t.match(
        assertError(t, await call('POST', '/runs', alice, { benchmark_id: UNKNOWN_ID, flavor_id: w.flavorA.id }), 404).message,
        'Benchmark',
      );
      t.match(
        assertError(t, await call('POST', '/runs', alice, { benchmark_id: w.benchmark.id, flavor_id: UNKNOWN_ID }), 404).message,
        'Flavor',
      );
      const body = assertError(
        t,
        await call('POST', '/runs', alice, { benchmark_id: w.benchmark.id, flavor_id: w.flavorA.id, tags_ids: [UNKNOWN_ID] }),
        404,
      );
      t.match(body.message, `Tag ${UNKNOWN_ID}`);
    });
    t.test('422: a benchmark or flavor not approved', async (t) => {
      const pending = await w.fx.benchmark({}, { approved: false });
      const body = assertError(t, await call('POST', '/runs', alice, { benchmark_id: pending.id, flavor_id: w.flavorA.id }), 422);
      t.equal(body.error_code, 'invalid_state');
      const pendingFlavor = await w.fx.flavor(w.siteA.id, { approved: false });
      t.equal(
        assertError(t, await call('POST', '/runs', alice, { benchmark_id: w.benchmark.id, flavor_id: pendingFlavor.id }), 422).error_code,
        'invalid_state',
      );
    });
    t.test('422: parameters the benchmark does not take, named by their path', async (t) => {
      const body = assertError(
        t,
        await call('POST', '/runs', alice, { benchmark_id: w.benchmark.id, flavor_id: w.flavorA.id, parameters: { threads: 'eight' } }),
        422,
      );
      t.equal(body.error_code, 'parameters_invalid');
      t.match(body.message, "The parameters do not match the benchmark's parameters_schema: at /threads: must be integer");
      t.same(Object.keys(body.errors ?? {}), ['body.parameters/threads']);
      const extra = assertError(
        t,
        await call('POST', '/runs', alice, { benchmark_id: w.benchmark.id, flavor_id: w.flavorA.id, parameters: { gpus: 1 } }),
        422,
      );
      t.equal(extra.error_code, 'parameters_invalid');
      const plain = await w.fx.benchmark({});
      t.equal(
        (await call('POST', '/runs', alice, { benchmark_id: plain.id, flavor_id: w.flavorB.id })).statusCode,
        201,
        'a benchmark without parameters_schema takes {}',
      );
      const none = assertError(
        t,
        await call('POST', '/runs', alice, { benchmark_id: plain.id, flavor_id: w.flavorB.id, parameters: { threads: 1 } }),
        422,
      );
      t.equal(none.error_code, 'parameters_invalid', 'and nothing else');
      await drain(w.siteB.id);
    });
    t.test('422: a malformed body', async (t) => {
      assertError(t, await call('POST', '/runs', alice, { benchmark_id: w.benchmark.id }), 422);
      assertError(t, await call('POST', '/runs', alice, { benchmark_id: w.benchmark.id, flavor_id: w.flavorA.id, priority: 1 }), 422);
      assertError(t, await call('POST', '/runs', alice, { benchmark_id: w.benchmark.id, flavor_id: w.flavorA.id, parameters: [1] }), 422);
    });
    t.test('injection-shaped parameters are data, stored and answered as sent', async (t) => {
      const open = await w.fx.post<Benchmark>('/benchmarks', alice, {
        docker_image: `${uniqueDashed('runs')}/open`,
        docker_tag: 'v1',
        json_schema: {},
        parameters_schema: { type: 'object' },
      });
      await w.fx.approve(`/benchmarks/${open.id}:approve`);
      const parameters = { "'; DROP TABLE runs; --": "x' OR '1'='1", 'a"b': '$1::text', nested: { '\\': ['); DELETE FROM results; --'] } };
      const run = assertRun(t, await call('POST', '/runs', alice, { benchmark_id: open.id, flavor_id: w.flavorB.id, parameters }), 201, {
        parameters,
      });
      assertRun(t, await call('GET', `/runs/${run.id}`), 200, { parameters });
      t.equal((await call('GET', '/runs')).statusCode, 200, 'runs still there');
      await drain(w.siteB.id);
    });
  });

  /** Cancels every queued run of a site, so that the next case starts from an empty queue. */
  async function drain(siteId: string): Promise<void> {
    const queued = json<{ items: Run[] }>(await call('GET', `/runs?site_id=${siteId}&status=queued`));
    for (const run of queued.items) await call('POST', `/runs/${run.id}:cancel`, admin);
  }

  t.test('GET /runs, GET /users/self/runs, GET /runs/{run_id}', async (t) => {
    const mine = await w.ask({ parameters: { threads: 2 } });
    const bobs = await w.ask({ parameters: { threads: 4 } }, bob);
    t.test('200: anybody lists runs, filtered, newest first, never who asked', async (t) => {
      const page = assertPageResponse<Run>(t, await call('GET', `/runs?site_id=${w.siteA.id}&status=queued`), RUN_KEYS);
      t.same(
        page.items.map((run) => run.id),
        [bobs.id, mine.id],
        'newest first',
      );
      const oldest = json<{ items: Run[] }>(await call('GET', `/runs?site_id=${w.siteA.id}&status=queued&sort_by=%2Bsubmit_datetime`));
      t.same(
        oldest.items.map((run) => run.id),
        [mine.id, bobs.id],
      );
      t.equal(json<{ total: number }>(await call('GET', `/runs?benchmark_id=${UNKNOWN_ID}`)).total, 0);
      t.equal(
        json<{ total: number }>(
          await call('GET', `/runs?flavor_id=${w.flavorA.id}&submit_after=2000-01-01&submit_before=2999-01-01&status=queued`),
        ).total,
        2,
      );
      t.notMatch((await call('GET', '/runs')).body, alice.sub, "the requester's identity is nowhere");
    });
    t.test('200: a user lists the runs they asked for', async (t) => {
      const page = assertPageResponse<Run>(t, await call('GET', `/users/self/runs?status=queued`, bob), RUN_KEYS);
      t.same(
        page.items.map((run) => run.id),
        [bobs.id],
      );
    });
    t.test('200: one run', async (t) => {
      assertRun(t, await call('GET', `/runs/${mine.id}`), 200, { id: mine.id, status: 'queued', parameters: { threads: 2 } });
    });
    t.test('401 and 403: your runs need a registered user', async (t) => {
      assertError(t, await call('GET', '/users/self/runs'), 401);
      assertError(t, await call('GET', '/users/self/runs', persona('runs-unregistered')), 403);
    });
    t.test('404: an unknown run', async (t) => {
      assertError(t, await call('GET', `/runs/${UNKNOWN_ID}`), 404);
      assertError(t, await call('GET', `/runs/${UNKNOWN_ID}/log`), 404);
    });
    t.test('422: malformed filters and ids', async (t) => {
      assertError(t, await call('GET', '/runs?status=lost'), 422);
      assertError(t, await call('GET', '/runs?sort_by=%2Brequester'), 422);
      assertError(t, await call('GET', '/runs?submit_after=yesterday'), 422);
      assertError(t, await call('GET', '/runs/not-a-uuid'), 422);
    });
    t.teardown(() => drain(w.siteA.id));
  });

  t.test('a run from queue to result', async (t) => {
    const run = await w.ask({ parameters: { threads: 8, scene: 'sponza' }, tags_ids: [w.tag.id] });
    const queue = () => call('GET', `/sites/${w.siteA.id}/runs:queue`).then((r) => json<RunQueue>(r));
    t.match(await queue(), { site_id: w.siteA.id, queued: 1, running: 0, runners: 1 });

    const taken = await w.take();
    t.equal(taken.statusCode, 200);
    const assignment = json<RunAssignment>(taken);
    t.same(Object.keys(assignment).sort(), ['docker_image', 'docker_tag', 'lease_seconds', 'run']);
    t.match(assignment, { docker_image: w.benchmark.docker_image, docker_tag: 'latest', lease_seconds: 120 });
    t.match(assignment.run, { id: run.id, status: 'running', attempts: 1, parameters: { threads: 8, scene: 'sponza' } });
    t.ok(
      Date.parse(assignment.run.lease_deadline ?? '') - Date.parse(assignment.run.start_datetime ?? '') === 120_000,
      'a lease of RUN_LEASE_SECONDS',
    );
    t.match(await queue(), { queued: 0, running: 1, runners: 1, available: true });
    t.ok((await queue()).last_poll_datetime, 'the runner was seen');

    const beat = await call('POST', `/runs/${run.id}:heartbeat`, runner, { log: 'pulling image\n' });
    t.equal(beat.statusCode, 200);
    const lease = json<RunLease>(beat);
    t.match(lease, { status: 'running', cancelled: false });
    t.ok(Date.parse(lease.lease_deadline ?? '') >= Date.parse(assignment.run.lease_deadline ?? ''), 'the lease was extended');
    await call('POST', `/runs/${run.id}:heartbeat`, runner, { log: 'rendering\n' });
    await call('POST', `/runs/${run.id}:heartbeat`, runner, {});
    const log = await call('GET', `/runs/${run.id}/log`);
    t.equal(log.statusCode, 200);
    t.match(log.headers['content-type'], /^text\/plain/);
    t.equal(log.body, 'pulling image\nrendering\n', 'every line, in order');

    const completed = assertRun(
      t,
      await call('POST', `/runs/${run.id}:complete`, runner, {
        execution_datetime: '2026-01-02T03:04:05Z',
        result: { result: { score: 42.5 } },
      }),
      200,
      { status: 'completed', lease_deadline: null, failure_reason: null },
    );
    t.ok(completed.result_id, 'names its result');
    t.ok(completed.finish_datetime);
    const result = json<Result>(await call('GET', `/results/${completed.result_id}`));
    t.same(result.json, { result: { score: 42.5 } }, 'the output, stored as a result');
    t.equal(result.execution_datetime, '2026-01-02T03:04:05.000Z');
    t.equal(result.benchmark.id, w.benchmark.id);
    t.equal(result.flavor.id, w.flavorA.id);
    t.same(
      result.tags.map((tag) => tag.id),
      [w.tag.id],
      "with the run's tags",
    );
    const uploader = json<User>(await call('GET', `/results/${completed.result_id}/uploader`, admin));
    t.equal(uploader.sub, alice.sub, 'uploaded in the name of who asked');
    const listed = json<{ items: Result[] }>(await call('GET', `/results?benchmark_id=${w.benchmark.id}`));
    t.ok(
      listed.items.some((item) => item.id === completed.result_id),
      'listed like any result',
    );
    const mail = await mailOf(ctx, 'run_completed', alice.email, completed.result_id ?? '');
    t.ok(mail, 'the requester is told');
    t.match(mail?.text, completed.result_id ?? '');

    t.test('422: a report on a run that has ended', async (t) => {
      const again = assertError(
        t,
        await call('POST', `/runs/${run.id}:complete`, runner, {
          execution_datetime: '2026-01-02T03:04:05Z',
          result: { result: { score: 1 } },
        }),
        422,
      );
      t.equal(again.error_code, 'invalid_state');
      t.match(again.message, 'already completed');
      assertError(t, await call('POST', `/runs/${run.id}:heartbeat`, runner, {}), 422);
      assertError(t, await call('POST', `/runs/${run.id}:fail`, runner, { reason: 'late' }), 422);
      assertError(t, await call('POST', `/runs/${run.id}:cancel`, alice), 422);
      t.equal(
        json<{ total: number }>(await call('GET', `/results?benchmark_id=${w.benchmark.id}`)).total,
        listed.items.length,
        'nothing more stored',
      );
    });
  });

  t.test('POST /sites/{site_id}/runs:take', async (t) => {
    t.test('204: nothing waits', async (t) => {
      const response = await w.take();
      t.equal(response.statusCode, 204);
      t.equal(response.body, '');
    });
    t.test('200: the oldest queued run first', async (t) => {
      const first = await w.ask();
      const second = await w.ask();
      t.equal((await w.takeOne()).run.id, first.id);
      t.equal((await w.takeOne()).run.id, second.id);
      for (const run of [first, second]) await call('POST', `/runs/${run.id}:cancel`, alice);
    });
    t.test('401: without a token', async (t) => {
      assertError(t, await call('POST', `/sites/${w.siteA.id}/runs:take`), 401);
    });
    t.test('403: a user who is no runner of this site, even a runner of another', async (t) => {
      const run = await w.ask();
      t.match(assertError(t, await w.take(w.siteA.id, stranger), 403).message, 'Only the runners of site');
      assertError(t, await w.take(w.siteA.id, otherRunner), 403);
      assertError(t, await w.take(w.siteA.id, admin), 403);
      assertRun(t, await call('GET', `/runs/${run.id}`), 200, { status: 'queued' });
      await call('POST', `/runs/${run.id}:cancel`, alice);
    });
    t.test('404: an unknown site', async (t) => {
      assertError(t, await w.take(UNKNOWN_ID), 404);
    });
    t.test('422: a malformed site id', async (t) => {
      assertError(t, await w.take('not-a-uuid'), 422);
    });
    t.test('exactly once: 20 runners taking at once from a queue of 10', async (t) => {
      const extra = await Promise.all(
        Array.from({ length: 3 }, async (_, i) => {
          const who = persona(`runs-pool-${i}`);
          await ctx.register(who);
          return who;
        }),
      );
      await w.designate(w.siteA.id, [runner, ...extra]);
      const asked = new Set<string>();
      for (let i = 0; i < 10; i += 1) asked.add((await w.ask({ parameters: { threads: i + 1 } })).id);
      const takers = [runner, ...extra];
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => w.take(w.siteA.id, takers[i % takers.length])));
      const taken = answers.filter((a) => a.statusCode === 200).map((a) => json<RunAssignment>(a).run.id);
      t.equal(taken.length, 10, '10 runs taken');
      t.equal(answers.filter((a) => a.statusCode === 204).length, 10, '10 × 204');
      t.same(new Set(taken), asked, 'each run once, every run');
      const running = json<{ items: Run[] }>(await call('GET', `/runs?site_id=${w.siteA.id}&status=running`));
      t.ok(
        running.items.every((run) => run.attempts === 1),
        'each taken exactly once',
      );
      for (const id of asked) await call('POST', `/runs/${id}:cancel`, alice);
      await w.designate(w.siteA.id, [runner]);
    });
  });

  t.test('POST /runs/{run_id}:heartbeat', async (t) => {
    const run = await w.ask();
    await w.takeOne();
    t.test('403: a user who is no runner of its site, whatever the body', async (t) => {
      assertError(t, await call('POST', `/runs/${run.id}:heartbeat`, stranger, { log: 5 }), 403);
      assertError(t, await call('POST', `/runs/${run.id}:heartbeat`, otherRunner, {}), 403);
    });
    t.test('401 and 404', async (t) => {
      assertError(t, await call('POST', `/runs/${run.id}:heartbeat`, undefined, {}), 401);
      assertError(t, await call('POST', `/runs/${UNKNOWN_ID}:heartbeat`, runner, {}), 404);
    });
    t.test('422: a malformed body; a log over 65 536 characters', async (t) => {
      assertError(t, await call('POST', `/runs/${run.id}:heartbeat`, runner, { log: 5 }), 422);
      assertError(t, await call('POST', `/runs/${run.id}:heartbeat`, runner, { log: 'x'.repeat(65_537) }), 422);
    });
    t.test('the log keeps its newest 65 536 characters', async (t) => {
      await call('POST', `/runs/${run.id}:heartbeat`, runner, { log: `${'a'.repeat(40_000)}` });
      await call('POST', `/runs/${run.id}:heartbeat`, runner, { log: `${'b'.repeat(39_999)}é` });
      const log = (await call('GET', `/runs/${run.id}/log`)).body;
      t.equal([...log].length, 65_536);
      t.ok(log.endsWith(`${'b'.repeat(39_999)}é`), 'the newest output whole');
      t.ok(log.startsWith('a'), 'the oldest cut');
    });
    t.test('200 cancelled: the run was cancelled meanwhile', async (t) => {
      assertRun(t, await call('POST', `/runs/${run.id}:cancel`, alice), 200, { status: 'cancelled', lease_deadline: null });
      const response = await call('POST', `/runs/${run.id}:heartbeat`, runner, { log: 'stopping\n' });
      t.equal(response.statusCode, 200);
      t.same(json<RunLease>(response), { status: 'cancelled', cancelled: true, lease_deadline: null });
      t.ok((await call('GET', `/runs/${run.id}/log`)).body.endsWith('stopping\n'), 'its last words are kept');
      const late = assertError(
        t,
        await call('POST', `/runs/${run.id}:complete`, runner, {
          execution_datetime: '2026-01-01T00:00:00Z',
          result: { result: { score: 1 } },
        }),
        422,
      );
      t.match(late.message, 'already cancelled', 'what it sends afterwards is refused');
    });
    t.test('422: a queued run is held by nobody', async (t) => {
      const queued = await w.ask();
      t.match(assertError(t, await call('POST', `/runs/${queued.id}:heartbeat`, runner, {}), 422).message, 'queued');
      await call('POST', `/runs/${queued.id}:cancel`, alice);
    });
  });

  t.test('POST /runs/{run_id}:complete', async (t) => {
    t.test('200 failed: output that fails the schema is not stored', async (t) => {
      const run = await w.ask();
      await w.takeOne();
      const before = json<{ total: number }>(await call('GET', `/results?benchmark_id=${w.benchmark.id}`)).total;
      const failed = assertRun(
        t,
        await call('POST', `/runs/${run.id}:complete`, runner, {
          execution_datetime: '2026-01-01T00:00:00Z',
          result: { result: { score: 'high' } },
        }),
        200,
        {
          status: 'failed',
          result_id: null,
        },
      );
      t.match(failed.failure_reason, "The result does not match the benchmark's JSON Schema: at /result/score: must be number");
      t.equal(json<{ total: number }>(await call('GET', `/results?benchmark_id=${w.benchmark.id}`)).total, before, 'no result stored');
      t.ok(await mailOf(ctx, 'run_failed', w.alice.email, 'must be number'), 'the requester is told why');
    });
    t.test('403, 404, 422 before anything is stored', async (t) => {
      const run = await w.ask();
      await w.takeOne();
      const output = { execution_datetime: '2026-01-01T00:00:00Z', result: { result: { score: 3 } } };
      assertError(t, await call('POST', `/runs/${run.id}:complete`, otherRunner, output), 403);
      assertError(t, await call('POST', `/runs/${UNKNOWN_ID}:complete`, runner, output), 404);
      assertError(t, await call('POST', `/runs/${run.id}:complete`, runner, { result: { result: { score: 3 } } }), 422);
      const future = assertError(
        t,
        await call('POST', `/runs/${run.id}:complete`, runner, { ...output, execution_datetime: '2999-01-01T00:00:00Z' }),
        422,
      );
      t.match(future.errors, { 'body.execution_datetime': 'in the future' });
      assertRun(t, await call('GET', `/runs/${run.id}`), 200, { status: 'running', result_id: null });
      await call('POST', `/runs/${run.id}:cancel`, admin);
    });
  });

  t.test('POST /runs/{run_id}:fail', async (t) => {
    t.test('200: failed with the reason', async (t) => {
      const run = await w.ask();
      await w.takeOne();
      assertRun(t, await call('POST', `/runs/${run.id}:fail`, runner, { reason: 'image pull failed' }), 200, {
        status: 'failed',
        failure_reason: 'image pull failed',
        lease_deadline: null,
      });
      t.match((await call('GET', `/runs/${run.id}/log`)).body, 'failed by the runner: image pull failed');
    });
    t.test('200: requeue puts it back for another attempt, until the last', async (t) => {
      const run = await w.ask();
      await w.takeOne();
      assertRun(t, await call('POST', `/runs/${run.id}:fail`, runner, { reason: 'shutting down', requeue: true }), 200, {
        status: 'queued',
        failure_reason: null,
        attempts: 1,
        lease_deadline: null,
      });
      t.equal((await w.takeOne()).run.attempts, 2, 'taken again');
      await call('POST', `/runs/${run.id}:fail`, runner, { reason: 'shutting down', requeue: true });
      t.equal((await w.takeOne()).run.attempts, 3);
      assertRun(t, await call('POST', `/runs/${run.id}:fail`, runner, { reason: 'shutting down', requeue: true }), 200, {
        status: 'failed',
        failure_reason: 'shutting down',
      });
    });
    t.test('401, 403, 404, 422', async (t) => {
      const run = await w.ask();
      await w.takeOne();
      assertError(t, await call('POST', `/runs/${run.id}:fail`, undefined, { reason: 'x' }), 401);
      assertError(t, await call('POST', `/runs/${run.id}:fail`, stranger, { reason: '' }), 403);
      assertError(t, await call('POST', `/runs/${UNKNOWN_ID}:fail`, runner, { reason: 'x' }), 404);
      assertError(t, await call('POST', `/runs/${run.id}:fail`, runner, { reason: '' }), 422);
      assertError(t, await call('POST', `/runs/${run.id}:fail`, runner, { reason: 'x', requeue: 'yes' }), 422);
      await call('POST', `/runs/${run.id}:cancel`, alice);
      assertError(t, await call('POST', `/runs/${run.id}:fail`, runner, { reason: 'x' }), 422);
    });
  });

  t.test('POST /runs/{run_id}:cancel', async (t) => {
    t.test('200: by who asked, or an administrator', async (t) => {
      const mine = await w.ask();
      assertRun(t, await call('POST', `/runs/${mine.id}:cancel`, alice), 200, { status: 'cancelled' });
      const other = await w.ask();
      const cancelled = assertRun(t, await call('POST', `/runs/${other.id}:cancel`, admin), 200, { status: 'cancelled' });
      t.ok(cancelled.finish_datetime);
    });
    t.test('401, 403, 404, 422', async (t) => {
      const run = await w.ask();
      assertError(t, await call('POST', `/runs/${run.id}:cancel`), 401);
      t.match(assertError(t, await call('POST', `/runs/${run.id}:cancel`, bob), 403).message, 'Only the user who asked');
      assertError(t, await call('POST', `/runs/${UNKNOWN_ID}:cancel`, bob), 404);
      assertError(t, await call('POST', '/runs/nope:cancel', alice), 422);
      await call('POST', `/runs/${run.id}:cancel`, alice);
      t.match(assertError(t, await call('POST', `/runs/${run.id}:cancel`, alice), 422).message, 'already cancelled');
    });
  });

  t.test('GET /sites/{site_id}/runs:queue', async (t) => {
    t.test('200: a site without runners is not available', async (t) => {
      const site = await w.fx.site();
      const response = await call('GET', `/sites/${site.id}/runs:queue`);
      t.equal(response.statusCode, 200);
      t.same(json<RunQueue>(response), { site_id: site.id, queued: 0, running: 0, runners: 0, last_poll_datetime: null, available: false });
    });
    t.test('404 and 422', async (t) => {
      assertError(t, await call('GET', `/sites/${UNKNOWN_ID}/runs:queue`), 404);
      assertError(t, await call('GET', '/sites/x/runs:queue'), 422);
    });
  });
});

eachDatabase(
  t,
  async (t, ctx) => {
    const w = await world(ctx);
    const { call, runner, alice } = w;
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    t.test('a silent runner loses its run: back to the queue, then failed after RUN_MAX_ATTEMPTS', async (t) => {
      const run = await w.ask();
      await w.takeOne();
      await sleep(1300);
      assertRun(t, await call('GET', `/runs/${run.id}`), 200, { status: 'queued', attempts: 1, lease_deadline: null });
      t.match((await call('GET', `/runs/${run.id}/log`)).body, /lease expired at .*: back in the queue/);
      const late = assertError(t, await call('POST', `/runs/${run.id}:heartbeat`, runner, {}), 422);
      t.match(late.message, 'went back to the queue');
      t.equal((await w.takeOne()).run.attempts, 2, 'taken again');
      await sleep(1300);
      const lost = assertRun(t, await call('GET', `/runs/${run.id}`), 200, { status: 'failed', attempts: 2 });
      t.match(lost.failure_reason, 'runner lost');
      t.ok(await mailOf(ctx, 'run_failed', alice.email, 'runner lost'), 'the requester is told');
    });

    t.test('heartbeats keep a run', async (t) => {
      const run = await w.ask();
      await w.takeOne();
      for (let i = 0; i < 6; i += 1) {
        await sleep(300);
        t.equal((await call('POST', `/runs/${run.id}:heartbeat`, runner, {})).statusCode, 200);
      }
      assertRun(t, await call('GET', `/runs/${run.id}`), 200, { status: 'running', attempts: 1 });
      await call('POST', `/runs/${run.id}:cancel`, alice);
    });

    t.test('a lease expired but not yet swept is refused, and swept by the refusal', async (t) => {
      const run = await w.ask();
      await w.takeOne();
      await sleep(1100);
      const refused = assertError(
        t,
        await call('POST', `/runs/${run.id}:complete`, runner, {
          execution_datetime: '2026-01-01T00:00:00Z',
          result: { result: { score: 1 } },
        }),
        422,
      );
      t.match(refused.message, /lease expired|went back to the queue/);
      const row = await ctx.db.prisma.run.findUniqueOrThrow({ where: { id: run.id } });
      t.equal(row.status, 'queued', 'back in the queue');
      t.equal(row.result_id, null, 'nothing stored');
      await call('POST', `/runs/${run.id}:cancel`, alice);
    });

    t.test('lost runs are swept with nobody asking', async (t) => {
      const run = await w.ask();
      await w.takeOne();
      // No request reads the run: the instance's periodic sweep (every second here) expires it.
      let status = 'running';
      for (let i = 0; i < 40 && status === 'running'; i += 1) {
        await sleep(100);
        status = (await ctx.db.prisma.run.findUniqueOrThrow({ where: { id: run.id } })).status;
      }
      t.equal(status, 'queued');
      await call('POST', `/runs/${run.id}:cancel`, alice);
    });
  },
  { RUN_LEASE_SECONDS: '1', RUN_MAX_ATTEMPTS: '2' },
);
