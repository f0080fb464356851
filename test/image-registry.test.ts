// The optional container-image check (IMAGE_REGISTRY), against a real HTTP
// registry on 127.0.0.1 (test/helpers/registry.ts): the bearer-token
// handshake, the `library/` prefix, 422 with the registry's reason for an
// image it does not know, 503 when it cannot be asked.
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import t from 'tap';
import { ApiError } from '../src/errors.js';
import { ImageRegistry } from '../src/catalog/image-registry.js';
import { createTestContext, json, persona } from './helpers/app.js';
import { MANIFEST_UNKNOWN_MESSAGE, REGISTRY_SERVICE, startFakeRegistry, type FakeRegistry } from './helpers/registry.js';

/** The ApiError `promise` rejects with (fails the test when it resolves or throws something else). */
async function apiError(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected an ApiError, the call succeeded');
}

/** A port on 127.0.0.1 where nothing listens (connection refused). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

t.test('ImageRegistry against a fake v2 registry', async (t) => {
  const registry: FakeRegistry = await startFakeRegistry(['library/alpine:3.19', 'owner/bench:v1']);
  t.teardown(() => registry.close());
  const client = new ImageRegistry({ url: registry.url, timeoutMs: 500 });
  const since = () => {
    const start = registry.requests.length;
    return () => registry.requests.slice(start);
  };

  t.test('a single-name image is looked up under library/, after the token handshake', async (t) => {
    const seen = since();
    await client.assertImageExists('alpine', '3.19');
    const requests = seen();
    t.equal(requests.length, 3, 'challenge, token, retry');
    t.match(requests[0], { method: 'HEAD', path: '/v2/library/alpine/manifests/3.19' });
    t.notOk(requests[0]?.authorization, 'first attempt is anonymous');
    t.equal(requests[1]?.method, 'GET');
    const tokenUrl = new URL(requests[1]?.path ?? '', registry.url);
    t.equal(tokenUrl.pathname, '/token', 'the realm of the challenge');
    t.equal(tokenUrl.searchParams.get('service'), REGISTRY_SERVICE);
    t.equal(tokenUrl.searchParams.get('scope'), 'repository:library/alpine:pull');
    t.match(requests[2], { method: 'HEAD', path: '/v2/library/alpine/manifests/3.19', authorization: /^Bearer \S+$/ });
  });

  t.test('an owner/name image is looked up as is', async (t) => {
    const seen = since();
    await client.assertImageExists('owner/bench', 'v1');
    t.equal(seen().at(-1)?.path, '/v2/owner/bench/manifests/v1');
  });

  t.test('an image named with this registry host is looked up without the host', async (t) => {
    const seen = since();
    await client.assertImageExists(`${registry.host}/owner/bench`, 'v1');
    t.equal(seen().at(-1)?.path, '/v2/owner/bench/manifests/v1');
  });

  t.test('docker.io names are Docker Hub names when IMAGE_REGISTRY is Docker Hub', async (t) => {
    const hub = new ImageRegistry({ url: 'https://registry-1.docker.io' });
    const repositoryOf = (image: string): unknown => (hub as unknown as { repositoryOf(image: string): unknown }).repositoryOf(image);
    t.equal(repositoryOf('alpine'), 'library/alpine');
    t.equal(repositoryOf('owner/bench'), 'owner/bench');
    t.equal(repositoryOf('docker.io/alpine'), 'library/alpine');
    t.equal(repositoryOf('docker.io/owner/bench'), 'owner/bench');
    t.equal(repositoryOf('index.docker.io/owner/bench'), 'owner/bench');
    t.equal(repositoryOf('ghcr.io/owner/bench'), undefined);
    t.equal(repositoryOf('localhost:5000/owner/bench'), undefined);
  });

  t.test('an image of another registry host is not ours to ask: no request', async (t) => {
    const seen = since();
    await client.assertImageExists('ghcr.io/owner/bench', 'v1');
    await client.assertImageExists('localhost/owner/bench', 'v1');
    t.same(seen(), []);
  });

  t.test('422 with the registry reason for an unknown tag', async (t) => {
    const error = await apiError(client.assertImageExists('owner/bench', 'v404'));
    t.equal(error.statusCode, 422);
    t.match(error.message, /owner\/bench:v404/);
    t.match(error.message, /MANIFEST_UNKNOWN/);
    t.match(error.message, MANIFEST_UNKNOWN_MESSAGE, "the registry's own words");
    t.ok(error.errors?.['body.docker_image'], 'names the field');
  });

  t.test('422 for a repository the registry does not know (401 after the handshake)', async (t) => {
    const error = await apiError(client.assertImageExists('nobody/nothing', 'latest'));
    t.equal(error.statusCode, 422);
    t.match(error.message, /UNAUTHORIZED/);
  });

  t.test('422 without any request for a name or tag outside Docker grammar', async (t) => {
    const seen = since();
    t.equal((await apiError(client.assertImageExists('Owner/Bench', 'v1'))).statusCode, 422);
    t.equal((await apiError(client.assertImageExists('owner/../../token', 'v1'))).statusCode, 422);
    t.equal((await apiError(client.assertImageExists('owner/bench', 'v1/../../x'))).statusCode, 422);
    t.equal((await apiError(client.assertImageExists('owner/bench', '-v1'))).statusCode, 422);
    t.same(seen(), [], 'nothing reached the registry');
  });

  t.test('503 when the registry answers 500', async (t) => {
    registry.failWith(500);
    t.teardown(() => registry.failWith(undefined));
    const error = await apiError(client.assertImageExists('alpine', '3.19'));
    t.equal(error.statusCode, 503);
  });

  t.test('503 when the registry answers 503 or 429', async (t) => {
    t.teardown(() => registry.failWith(undefined));
    registry.failWith(503);
    t.equal((await apiError(client.assertImageExists('alpine', '3.19'))).statusCode, 503);
    registry.failWith(429);
    t.equal((await apiError(client.assertImageExists('alpine', '3.19'))).statusCode, 503);
  });

  t.test('503 when the registry hangs (timeout)', async (t) => {
    registry.hang(true);
    t.teardown(() => registry.hang(false));
    const started = Date.now();
    const error = await apiError(client.assertImageExists('alpine', '3.19'));
    t.equal(error.statusCode, 503);
    t.ok(Date.now() - started < 5000, 'gives up after its timeout');
  });

  t.test('503 when the registry refuses connections', async (t) => {
    const refused = new ImageRegistry({ url: `http://127.0.0.1:${await closedPort()}`, timeoutMs: 500 });
    t.equal((await apiError(refused.assertImageExists('alpine', '3.19'))).statusCode, 503);
  });

  t.test('503 when the challenge names a realm that is not a URL', async (t) => {
    registry.misbehave('bad-realm');
    t.teardown(() => registry.misbehave(undefined));
    t.equal((await apiError(client.assertImageExists('alpine', '3.19'))).statusCode, 503);
  });

  t.test('503 when the token endpoint answers something that is not JSON', async (t) => {
    registry.misbehave('token-not-json');
    t.teardown(() => registry.misbehave(undefined));
    t.equal((await apiError(client.assertImageExists('alpine', '3.19'))).statusCode, 503);
  });

  t.test('503 when the token endpoint stalls in the middle of its body', async (t) => {
    registry.misbehave('token-stalls');
    t.teardown(() => registry.misbehave(undefined));
    const started = Date.now();
    t.equal((await apiError(client.assertImageExists('alpine', '3.19'))).statusCode, 503);
    t.ok(Date.now() - started < 5000, 'within the timeout');
  });

  t.test('422 with the reason when the token endpoint refuses the repository', async (t) => {
    registry.misbehave('token-denied');
    t.teardown(() => registry.misbehave(undefined));
    const error = await apiError(client.assertImageExists('alpine', '3.19'));
    t.equal(error.statusCode, 422);
    t.match(error.message, /DENIED/);
  });

  t.test('the timeout bounds the whole check, not each request', async (t) => {
    // Every request of the handshake is answered, but slowly: each under the
    // timeout, all of them together over it.
    const slow = await startFakeRegistry(['library/alpine:3.19']);
    t.teardown(() => slow.close());
    const proxy = createHttpServer((request, response) => {
      setTimeout(() => {
        const upstream = new URL(request.url ?? '/', slow.url);
        fetch(upstream, {
          method: request.method ?? 'GET',
          headers: request.headers.authorization ? { authorization: request.headers.authorization } : {},
        })
          .then(async (answer) => {
            const headers: Record<string, string> = {};
            answer.headers.forEach((value, key) => {
              headers[key] = key === 'www-authenticate' ? value.replace(slow.url, `http://127.0.0.1:${port}`) : value;
            });
            response.writeHead(answer.status, headers);
            response.end(Buffer.from(await answer.arrayBuffer()));
          })
          .catch(() => response.destroy());
      }, 200);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()));
    t.teardown(
      () =>
        new Promise<void>((resolve) => {
          proxy.closeAllConnections();
          proxy.close(() => resolve());
        }),
    );
    const address = proxy.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    t.ok(
      await new ImageRegistry({ url: `http://127.0.0.1:${port}`, timeoutMs: 2000 }).assertImageExists('alpine', '3.19').then(() => true),
      'fine with time to spare',
    );
    const error = await apiError(
      new ImageRegistry({ url: `http://127.0.0.1:${port}`, timeoutMs: 450 }).assertImageExists('alpine', '3.19'),
    );
    t.equal(error.statusCode, 503, 'three requests of 200 ms exceed 450 ms');
  });

  t.test('works again after the switches are off', async () => {
    await client.assertImageExists('alpine', '3.19');
  });
});

// Through the app, with the default timeout: a hanging registry must not hang
// the request. One database is enough: the registry is what is tested.
t.test('POST /benchmarks while IMAGE_REGISTRY hangs is a 503 (default timeout)', async (t) => {
  const registry = await startFakeRegistry(['library/alpine:3.19']);
  t.teardown(() => registry.close());
  const ctx = await createTestContext(t, 'pglite', { IMAGE_REGISTRY: registry.url });
  if (!ctx) throw new Error('PGlite is always available');
  const user = persona('hang');
  await ctx.register(user);
  registry.hang(true);
  const started = Date.now();
  const response = await ctx.app.inject({
    method: 'POST',
    url: '/benchmarks',
    headers: await ctx.auth(user),
    payload: { docker_image: 'alpine', docker_tag: '3.19', json_schema: {} },
  });
  t.equal(response.statusCode, 503, response.body);
  t.equal(json(response).code, 503);
  t.ok(Date.now() - started < 30_000, 'answered within the timeout');
  t.equal(await ctx.db.prisma.benchmark.count({ where: { docker_image: 'alpine' } }), 0, 'nothing stored');
});

t.test('POST /benchmarks with IMAGE_REGISTRY refusing connections is a 503', async (t) => {
  const ctx = await createTestContext(t, 'pglite', { IMAGE_REGISTRY: `http://127.0.0.1:${await closedPort()}` });
  if (!ctx) throw new Error('PGlite is always available');
  const user = persona('refused');
  await ctx.register(user);
  const response = await ctx.app.inject({
    method: 'POST',
    url: '/benchmarks',
    headers: await ctx.auth(user),
    payload: { docker_image: 'alpine', docker_tag: '3.19', json_schema: {} },
  });
  t.equal(response.statusCode, 503, response.body);
  t.equal(await ctx.db.prisma.benchmark.count({ where: { docker_image: 'alpine' } }), 0, 'nothing stored');
});
