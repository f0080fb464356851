// Fuzzing from the spec: requests to every operation, built from openapi.yaml's
// own schemas and mixed with hostile values, by anonymous callers, users and
// administrators, on both databases. No answer may be a 5xx, and every error
// must be the API's JSON error body. `npm test` runs a short, fixed-seed
// round; `npm run fuzz` runs the same for as long as FUZZ_SECONDS says, with
// a fresh seed (printed, so a failure can be replayed with FUZZ_SEED).
import fc from 'fast-check';
import t from 'tap';
import { loadSpec } from '../src/http/spec.js';
import { adminPersona, eachDatabase, persona } from './helpers/app.js';
import { ERROR_CODES } from './helpers/contract.js';
import { requestArbitrary, send } from './helpers/spec-fuzz.js';

const seconds = Number(process.env.FUZZ_SECONDS ?? 0);
const seed = Number(process.env.FUZZ_SEED ?? (seconds > 0 ? Date.now() % 2 ** 31 : 20261202));
const runs = seconds > 0 ? 1_000_000 : Number(process.env.FUZZ_RUNS ?? 250);

t.comment(`fuzz: seed ${seed}, ${seconds > 0 ? `${seconds} s` : `${runs} runs`} per database`);

eachDatabase(t, async (t, ctx) => {
  const user = persona('fuzz-user');
  const admin = adminPersona('fuzz-admin');
  await ctx.register(user);
  await ctx.register(admin);
  const headers = { anonymous: {}, user: await ctx.auth(user), admin: await ctx.auth(admin) };
  const seen = new Map<number, number>();

  await t.test('no request answers a 5xx, and every error is the API error body', async (t) => {
    await fc.assert(
      fc.asyncProperty(requestArbitrary(loadSpec()), async (request) => {
        const { status, body } = await send(ctx.app, request, headers);
        seen.set(status, (seen.get(status) ?? 0) + 1);
        if (status >= 500)
          throw new Error(`${status} for ${request.method} ${request.url.slice(0, 300)} as ${request.role}: ${body.slice(0, 300)}`);
        if (status >= 400) {
          const error = JSON.parse(body) as { code?: unknown; error_code?: unknown };
          if (error.code !== status || !ERROR_CODES.includes(String(error.error_code))) {
            throw new Error(
              `${status} without the API's error body for ${request.method} ${request.url.slice(0, 200)}: ${body.slice(0, 200)}`,
            );
          }
        } else if (body !== '') {
          JSON.parse(body);
        }
      }),
      { seed, numRuns: runs, ...(seconds > 0 ? { interruptAfterTimeLimit: seconds * 1000 } : {}), endOnFailure: true },
    );
    t.comment(
      `statuses seen: ${[...seen]
        .sort((a, b) => a[0] - b[0])
        .map(([status, n]) => `${status}×${n}`)
        .join(', ')}`,
    );
    t.ok(
      [...seen.keys()].some((status) => status < 300),
      'some requests succeeded',
    );
    t.ok(
      [...seen.keys()].some((status) => status === 422),
      'some were refused as invalid',
    );
  });
});
