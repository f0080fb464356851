// Cross-cutting HTTP behaviour (docs/CONTRACT.md §3): routing of custom methods, the
// JSON error body for every failure, query-string forms, body handling,
// documentation, health, CORS and the API prefix.
import type { ServiceRegistry } from '../src/api-types.js';
import Fastify from 'fastify';
import t from 'tap';
import { registerErrorHandlers } from '../src/http/error-handler.js';
import { JsonText } from '../src/http/json-text.js';
import { bindOperations } from '../src/http/operations.js';
import { loadSpec } from '../src/http/spec.js';
import { validatorCompiler } from '../src/http/request-validation.js';
import { adminPersona, createTestContext, json, persona, type Test, type TestContext } from './helpers/app.js';
import type { Benchmark, Benchmarks, Users } from './helpers/contract.js';

const BENCHMARK_ID = '5a0f5641-01ae-4f48-b5d1-84cd9c87dfac';

async function context(t: Test, env: Record<string, string> = {}): Promise<TestContext> {
  const ctx = await createTestContext(t, 'pglite', env);
  if (!ctx) throw new Error('PGlite is always available');
  return ctx;
}

let sharedContext: Promise<TestContext> | undefined;

/** One service, for the cases that only send it requests and leave nothing another case reads. */
function sharedService(): Promise<TestContext> {
  sharedContext ??= context(t);
  return sharedContext;
}

t.test('custom methods each reach their own operation', async (t) => {
  const ctx = await context(t);
  const admin = adminPersona();
  await ctx.register(admin);
  const headers = await ctx.auth(admin);
  const create = async (tag: string) => {
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/benchmarks',
      headers,
      payload: { docker_image: 'routing/check', docker_tag: tag, json_schema: {} },
    });
    t.equal(response.statusCode, 201, response.body);
    return json<Benchmark>(response).id;
  };
  const approved = await create('approve-me');
  const rejected = await create('reject-me');

  const list = await ctx.app.inject({ url: '/benchmarks?status=on_review' });
  t.equal(json<Benchmarks>(list).total, 2, 'GET /benchmarks lists');
  const search = await ctx.app.inject({ url: '/benchmarks:search?terms=approve-me&status=on_review' });
  t.equal(json<Benchmarks>(search).total, 1, 'GET /benchmarks:search searches');
  const get = await ctx.app.inject({ url: `/benchmarks/${approved}` });
  t.equal(json<Benchmark>(get).id, approved, 'GET /benchmarks/{id} reads one');
  t.equal((await ctx.app.inject({ method: 'POST', url: `/benchmarks/${approved}:approve`, headers })).statusCode, 204);
  t.equal(json<Benchmark>(await ctx.app.inject({ url: `/benchmarks/${approved}` })).status, 'approved', ':approve approves');
  t.equal((await ctx.app.inject({ method: 'POST', url: `/benchmarks/${rejected}:reject`, headers })).statusCode, 204);
  t.equal((await ctx.app.inject({ url: `/benchmarks/${rejected}` })).statusCode, 404, ':reject deletes');
});

t.test('an operation without a service method answers 501 naming it', async (t) => {
  const app = Fastify();
  app.setValidatorCompiler(validatorCompiler());
  registerErrorHandlers(app);
  await bindOperations(app, { spec: loadSpec(), services: {} as ServiceRegistry, securityHandlers: { bearerAuth: async () => {} } });
  const response = await app.inject({ url: `/results/${BENCHMARK_ID}` });
  t.equal(response.statusCode, 501);
  t.match(json(response), { code: 501, status: 'Not Implemented', message: /^GetResult / });
  await app.close();
});

t.test('closing waits for service calls whose clients have gone', async (t) => {
  // SIGTERM under load once closed the database under handlers whose
  // clients had disconnected; close must wait for every running call.
  const app = Fastify();
  app.setValidatorCompiler(validatorCompiler());
  registerErrorHandlers(app);
  let release = () => {};
  let started = () => {};
  const running = new Promise<void>((resolve) => (started = resolve));
  const events: string[] = [];
  const results = {
    getResult: () =>
      new Promise<object>((resolve) => {
        started();
        release = () => {
          events.push('service call finished');
          resolve({});
        };
      }),
  };
  await bindOperations(app, {
    spec: loadSpec(),
    services: { results } as unknown as ServiceRegistry,
    securityHandlers: { bearerAuth: async () => {} },
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const client = new AbortController();
  const request = fetch(`${address}/results/${BENCHMARK_ID}`, { signal: client.signal }).catch(() => 'aborted');
  await running;
  client.abort();
  t.equal(await request, 'aborted');
  const closed = app.close().then(() => events.push('closed'));
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.same(events, [], 'not closed while the call runs');
  release();
  await closed;
  t.same(events, ['service call finished', 'closed']);
});

t.test('a JsonText answer is sent as its bytes, with a JSON content type', async (t) => {
  const app = Fastify();
  app.setValidatorCompiler(validatorCompiler());
  registerErrorHandlers(app);
  const text = '{"id" : "x", "note": "ünïcode ✓"}';
  const results = { getResult: async () => new JsonText(text) };
  await bindOperations(app, {
    spec: loadSpec(),
    services: { results } as unknown as ServiceRegistry,
    securityHandlers: { bearerAuth: async () => {} },
  });
  const response = await app.inject({ url: `/results/${BENCHMARK_ID}` });
  t.equal(response.statusCode, 200);
  t.equal(response.headers['content-type'], 'application/json; charset=utf-8');
  t.equal(response.body, text, 'not serialized again by the response schema');
  t.equal(Number(response.headers['content-length']), Buffer.byteLength(text));
  await app.close();
});

t.test('404 JSON for paths that name no operation', async (t) => {
  const ctx = await sharedService();
  for (const url of ['/benchmarks:nosuch', '/benchmarksFOO', `/benchmarks/${BENCHMARK_ID}:nosuch`, '/nothing/here', '/users:register/x']) {
    const response = await ctx.app.inject({ url });
    t.equal(response.statusCode, 404, url);
    t.match(response.headers['content-type'], /^application\/json/);
    t.match(json(response), { code: 404, status: 'Not Found' });
  }
});

t.test('400 JSON for a URL that cannot be decoded', async (t) => {
  const ctx = await sharedService();
  const response = await ctx.app.inject({ url: '/%zz' });
  t.equal(response.statusCode, 400);
  t.match(response.headers['content-type'], /^application\/json/);
  t.same(json(response), { code: 400, status: 'Bad Request', error_code: 'bad_request', message: 'The URL is not valid' });
});

t.test('422 for a path parameter that is not a UUID', async (t) => {
  const ctx = await sharedService();
  const response = await ctx.app.inject({ url: '/benchmarks/not-a-uuid' });
  t.equal(response.statusCode, 422);
  t.match(json(response), { code: 422, errors: { 'path.benchmark_id': /uuid/ } });
});

t.test('who may call is decided before validation', async (t) => {
  const ctx = await sharedService();
  t.test('401 for a missing token whatever the body', async (t) => {
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/sites',
      payload: '{not json',
      headers: { 'content-type': 'application/json' },
    });
    t.equal(response.statusCode, 401);
  });
  t.test('401 for a missing token whatever the query', async (t) => {
    const response = await ctx.app.inject({ url: '/users?per_page=1000&colour=blue' });
    t.equal(response.statusCode, 401);
  });
  t.test('403 for a token holder who is not registered', async (t) => {
    const response = await ctx.app.inject({ method: 'POST', url: '/sites', payload: {}, headers: await ctx.auth(persona('stranger')) });
    t.equal(response.statusCode, 403);
  });
  t.test('401 for alg none, garbage and a foreign issuer, never 500', async (t) => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ sub: 'x', iss: ctx.oidc.issuer, exp: Math.floor(Date.now() / 1000) + 600 })).toString(
      'base64url',
    );
    const tokens = [`${header}.${payload}.`, 'garbage', '', 'a.b.c', `${'x'.repeat(20000)}`];
    for (const token of tokens) {
      const response = await ctx.app.inject({ url: '/users/self', headers: { authorization: `Bearer ${token}` } });
      t.equal(response.statusCode, 401, token.slice(0, 20));
      t.notMatch(response.body, token.length > 5 ? token.slice(0, 40) : /^$/, 'token not echoed');
    }
    const basic = await ctx.app.inject({ url: '/users/self', headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    t.equal(basic.statusCode, 401);
  });
});

t.test('request bodies', async (t) => {
  const ctx = await sharedService();
  const user = persona('writer');
  await ctx.register(user);
  const headers = await ctx.auth(user);
  t.test('400 for malformed JSON', async (t) => {
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/tags',
      payload: '{"name": ',
      headers: { ...headers, 'content-type': 'application/json' },
    });
    t.equal(response.statusCode, 400);
    t.match(json(response), { code: 400, status: 'Bad Request' });
  });
  t.test('400 for a proto-poisoned body', async (t) => {
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/tags',
      payload: '{"name":"x","__proto__":{"admin":true}}',
      headers: { ...headers, 'content-type': 'application/json' },
    });
    t.equal(response.statusCode, 400);
  });
  t.test('413 for a body over the limit', async (t) => {
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/tags',
      payload: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }),
      headers: { ...headers, 'content-type': 'application/json' },
    });
    t.equal(response.statusCode, 413);
    t.match(json(response), { code: 413 });
  });
  t.test('415 for a non-JSON body', async (t) => {
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/tags',
      payload: 'name=x',
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
    });
    t.equal(response.statusCode, 415);
    t.match(json(response), { code: 415 });
  });
  t.test('422 for a wrong type: bodies are not coerced', async (t) => {
    const response = await ctx.app.inject({ method: 'POST', url: '/tags', payload: { name: 5 }, headers });
    t.equal(response.statusCode, 422);
    t.match(json(response), { errors: { 'body.name': /string/ } });
  });
  t.test('422 for an unknown field', async (t) => {
    const response = await ctx.app.inject({ method: 'POST', url: '/tags', payload: { name: 'x', colour: 'blue' }, headers });
    t.equal(response.statusCode, 422);
    t.match(json(response), { errors: { 'body.colour': 'unknown field' } });
  });
  t.test('422 for a missing body', async (t) => {
    const response = await ctx.app.inject({ method: 'POST', url: '/tags', headers });
    t.equal(response.statusCode, 422);
  });
});

t.test('query strings', async (t) => {
  const ctx = await sharedService();
  const admin = adminPersona('query-admin');
  await ctx.register(admin);
  const headers = await ctx.auth(admin);
  t.test('both array forms are one list', async (t) => {
    const repeated = json<Users>(await ctx.app.inject({ url: '/users:search?terms=query&terms=admin', headers }));
    const bracket = json<Users>(await ctx.app.inject({ url: '/users:search?terms[]=query&terms[]=admin', headers }));
    t.equal(repeated.total, 1);
    t.equal(bracket.total, 1);
  });
  t.test('+ is a space', async (t) => {
    const response = await ctx.app.inject({ url: '/users:search?terms=no+such+thing', headers });
    t.equal(json<Users>(response).total, 0);
    t.equal(response.statusCode, 200);
  });
  t.test('__proto__ is just an unknown parameter', async (t) => {
    const response = await ctx.app.inject({ url: '/users?__proto__[admin]=1', headers });
    t.equal(response.statusCode, 422);
  });
  t.test('more list items than the spec allows is a 422 (bounded work per request)', async (t) => {
    const terms = Array.from({ length: 21 }, (_, i) => `terms=t${i}`).join('&');
    const response = await ctx.app.inject({ url: `/users:search?${terms}`, headers });
    t.equal(response.statusCode, 422);
    const filters = Array.from({ length: 21 }, () => 'filters=a%20%3E%201').join('&');
    t.equal((await ctx.app.inject({ url: `/results?${filters}` })).statusCode, 422);
  });
  t.test('a scalar parameter given twice is a 422', async (t) => {
    const response = await ctx.app.inject({ url: '/users?page=1&page=2', headers });
    t.equal(response.statusCode, 422);
  });
});

t.test('documentation and health', async (t) => {
  const ctx = await sharedService();
  t.test('GET /api-spec.json serves the whole contract', async (t) => {
    const response = await ctx.app.inject({ url: '/api-spec.json' });
    t.equal(response.statusCode, 200);
    const spec = json<{ openapi: string; paths: Record<string, unknown> }>(response);
    t.match(spec.openapi, /^3\./);
    t.same(Object.keys(spec.paths), Object.keys(loadSpec().paths), 'every path of openapi.yaml');
  });
  t.test('GET / serves Swagger UI and its assets from this service', async (t) => {
    const page = await ctx.app.inject({ url: '/' });
    t.equal(page.statusCode, 200);
    t.match(page.headers['content-type'], /text\/html/);
    t.match(page.body, /swagger-ui/);
    t.notMatch(page.body, /https?:\/\/(?!127\.0\.0\.1)[^"']*\.(js|css)/, 'no remote assets');
    const bundle = await ctx.app.inject({ url: '/static/swagger-ui-bundle.js' });
    t.equal(bundle.statusCode, 200);
    const initializer = await ctx.app.inject({ url: '/static/swagger-initializer.js' });
    t.equal(initializer.statusCode, 200);
  });
  t.test('security headers on the page and on API answers: a CSP that allows only the service itself', async (t) => {
    for (const url of ['/', '/tags', '/no/such/path']) {
      const response = await ctx.app.inject({ url });
      const csp = String(response.headers['content-security-policy']);
      t.match(csp, /default-src 'self'/, `${url}: CSP`);
      t.match(csp, /script-src 'self'(;|$)/, `${url}: scripts only from the service`);
      t.match(csp, /frame-ancestors 'none'/);
      t.notMatch(csp, /unsafe-eval|https?:|upgrade-insecure-requests/, `${url}: nothing from elsewhere, nothing forced`);
      t.equal(response.headers['x-content-type-options'], 'nosniff');
      t.equal(response.headers['x-frame-options'], 'SAMEORIGIN');
      t.equal(response.headers['cross-origin-resource-policy'], 'cross-origin', `${url}: readable by other origins' pages (CORS)`);
      t.equal(response.headers['referrer-policy'], 'no-referrer');
    }
  });
  t.test("Swagger UI is the service's own page, and the spec has one address", async (t) => {
    const page = await ctx.app.inject({ url: '/' });
    t.match(page.body, /<title>EOSC Performance API<\/title>/);
    t.notMatch(page.body, /<script>|<style>|style=/, 'no inline script or style');
    const initializer = (await ctx.app.inject({ url: '/static/swagger-initializer.js' })).body;
    t.match(initializer, /"\/api-spec\.json"/, 'Swagger UI loads /api-spec.json');
    t.match(initializer, /BaseLayout/, 'no framework logo bar');
    for (const url of ['/json', '/yaml', '/static/index.html', '/static/swagger-initializer.js.map', '/static/../package.json']) {
      t.equal((await ctx.app.inject({ url })).statusCode, 404, `${url}: not served`);
    }
  });
  t.test('no optional query parameter pre-fills "Try it out" with a made-up example', async (t) => {
    const spec = json<{
      paths: Record<string, Record<string, { parameters?: { $ref?: string }[] }>>;
      components: { parameters: Record<string, { in: string; required?: boolean; example?: unknown; schema?: { example?: unknown } }> };
    }>(await ctx.app.inject({ url: '/api-spec.json' }));
    for (const [name, parameter] of Object.entries(spec.components.parameters)) {
      if (parameter.in !== 'query' || parameter.required) continue;
      t.equal(parameter.example ?? parameter.schema?.example, undefined, `${name} has no example value`);
    }
  });
  t.test('GET /healthz reports the version', async (t) => {
    const response = await ctx.app.inject({ url: '/healthz' });
    t.equal(response.statusCode, 200);
    t.same(json(response), { status: 'ok', version: '0.1.0' });
  });
  t.test('every response carries a request id', async (t) => {
    const response = await ctx.app.inject({ url: '/healthz', headers: { 'x-request-id': 'abc-123' } });
    t.equal(response.headers['x-request-id'], 'abc-123');
  });
});

t.test('GET /healthz is 503 when the database does not answer', async (t) => {
  const ctx = await context(t);
  await ctx.db.close();
  const response = await ctx.app.inject({ url: '/healthz' });
  t.equal(response.statusCode, 503);
  t.match(json(response), { code: 503 });
});

t.test('CORS', async (t) => {
  t.test('any origin by default, with Authorization allowed', async (t) => {
    const ctx = await context(t);
    const response = await ctx.app.inject({
      method: 'OPTIONS',
      url: '/users/self',
      headers: {
        origin: 'https://frontend.example.org',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    t.equal(response.statusCode, 204);
    t.equal(response.headers['access-control-allow-origin'], '*');
    t.match(String(response.headers['access-control-allow-headers']), /Authorization/i);
  });
  t.test('only the configured origins', async (t) => {
    const ctx = await context(t, { CORS_ORIGINS: 'https://performance.example.org' });
    const allowed = await ctx.app.inject({ url: '/healthz', headers: { origin: 'https://performance.example.org' } });
    t.equal(allowed.headers['access-control-allow-origin'], 'https://performance.example.org');
    const denied = await ctx.app.inject({ url: '/healthz', headers: { origin: 'https://evil.example.org' } });
    t.equal(denied.headers['access-control-allow-origin'], undefined);
  });
});

t.test('API_PREFIX moves every route', async (t) => {
  const ctx = await context(t, { API_PREFIX: '/api/v1' });
  t.equal((await ctx.app.inject({ url: '/api/v1/healthz' })).statusCode, 200);
  t.equal((await ctx.app.inject({ url: '/healthz' })).statusCode, 404);
  const spec = json<{ servers: { url: string }[] }>(await ctx.app.inject({ url: '/api/v1/api-spec.json' }));
  t.same(spec.servers, [{ url: '/api/v1' }]);
  const user = persona('prefixed');
  const registered = await ctx.app.inject({ method: 'POST', url: '/api/v1/users:register', headers: await ctx.auth(user) });
  t.equal(registered.statusCode, 201);
  t.equal((await ctx.app.inject({ url: '/api/v1/' })).statusCode, 200, 'Swagger UI under the prefix');
  const explorer = await ctx.app.inject({ url: '/api/v1/explore' });
  t.match(explorer.body, 'data-api="/api/v1"', 'the explorer calls the API under the prefix');
  t.match(explorer.body, 'src="/api/v1/explore/explore.js"');
  t.equal((await ctx.app.inject({ url: '/api/v1/explore/explore.js' })).statusCode, 200, 'and loads its assets from there');
});
