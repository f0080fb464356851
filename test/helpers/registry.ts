/**
 * A small but real container registry for tests: an HTTP server on 127.0.0.1
 * speaking the parts of the Docker Registry HTTP API v2 the service uses, with
 * Docker Hub's bearer-token handshake:
 *
 * - `HEAD|GET /v2/<name>/manifests/<reference>` without a valid token → 401 and
 *   `WWW-Authenticate: Bearer realm="<url>/token",service="fake-registry",scope="repository:<name>:pull"`;
 * - `GET /token?service=fake-registry&scope=repository:<name>:pull` → `{"token": …}`
 *   (a token is good for that one repository only);
 * - with the token: 200 and a manifest for a known `<name>:<reference>`, 404
 *   `MANIFEST_UNKNOWN` for an unknown tag of a known repository, and, as Docker
 *   Hub does, 401 `UNAUTHORIZED` for a repository it does not know.
 *
 * Switches: `failWith(500)` makes every answer a 500 (token endpoint included),
 * `hang(true)` accepts requests and never answers, `misbehave(mode)` breaks
 * the handshake in one of the ways of `Misbehaviour`. Every request is logged.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const REGISTRY_SERVICE = 'fake-registry';
/** The reason the registry gives for an unknown tag (its GET body); tests look for it in 422 messages. */
export const MANIFEST_UNKNOWN_MESSAGE = 'manifest unknown to the fake registry';

export interface RegistryRequest {
  method: string;
  path: string;
  authorization?: string;
}

/**
 * - `bad-realm`: the challenge's realm is not a URL;
 * - `token-not-json`: the token endpoint answers 200 with HTML;
 * - `token-denied`: the token endpoint answers 403 DENIED;
 * - `token-stalls`: the token endpoint sends its headers, then never its body.
 */
export type Misbehaviour = 'bad-realm' | 'token-not-json' | 'token-denied' | 'token-stalls';

export interface FakeRegistry {
  /** Base URL, e.g. http://127.0.0.1:43210 (no trailing slash): the value of IMAGE_REGISTRY. */
  url: string;
  /** host:port of `url`. */
  host: string;
  /** Makes `<repository>:<tag>` known; `repository` as in the API path (`library/alpine`). */
  addImage(repository: string, tag: string): void;
  /** Every request, in arrival order. */
  requests: RegistryRequest[];
  /** Answer every request with this status (5xx), or normally again with `undefined`. */
  failWith(status: number | undefined): void;
  /** Accept requests but never answer them (until `hang(false)` or close). */
  hang(on: boolean): void;
  /** Break the handshake (see `Misbehaviour`), or stop with `undefined`. */
  misbehave(mode: Misbehaviour | undefined): void;
  close(): Promise<void>;
}

const MANIFEST_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  // HEAD answers carry the headers of the GET answer and no body.
  response.end(response.req.method === 'HEAD' ? undefined : text);
}

export async function startFakeRegistry(images: string[] = []): Promise<FakeRegistry> {
  const known = new Set<string>(images);
  const repositories = (): Set<string> => new Set([...known].map((image) => image.slice(0, image.lastIndexOf(':'))));
  /** token → the repository it may pull. */
  const tokens = new Map<string, string>();
  const requests: RegistryRequest[] = [];
  const hanging = new Set<ServerResponse>();
  let failure: number | undefined;
  let hangs = false;
  let misbehaviour: Misbehaviour | undefined;
  let base = '';

  const challenge = (repository: string): Record<string, string> => ({
    'www-authenticate': `Bearer realm="${misbehaviour === 'bad-realm' ? 'not a url' : `${base}/token`}",service="${REGISTRY_SERVICE}",scope="repository:${repository}:pull"`,
  });
  const stall = (response: ServerResponse): void => {
    hanging.add(response);
    response.on('close', () => hanging.delete(response));
  };

  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    const url = new URL(request.url ?? '/', base);
    requests.push({
      method: request.method ?? 'GET',
      path: `${url.pathname}${url.search}`,
      ...(request.headers.authorization ? { authorization: request.headers.authorization } : {}),
    });
    if (hangs) {
      stall(response);
      return;
    }
    if (failure !== undefined) {
      sendJson(response, failure, { errors: [{ code: 'UNKNOWN', message: 'the fake registry was told to fail' }] });
      return;
    }

    if (url.pathname === '/token' && request.method === 'GET') {
      if (misbehaviour === 'token-not-json') {
        response.writeHead(200, { 'content-type': 'text/html' });
        response.end('<html>maintenance</html>');
        return;
      }
      if (misbehaviour === 'token-denied') {
        sendJson(response, 403, { errors: [{ code: 'DENIED', message: 'requested access to the resource is denied' }] });
        return;
      }
      if (misbehaviour === 'token-stalls') {
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        response.write('{"tok');
        stall(response);
        return;
      }
      const scope = url.searchParams.get('scope') ?? '';
      const match = /^repository:(.+):pull$/.exec(scope);
      if (url.searchParams.get('service') !== REGISTRY_SERVICE || !match) {
        sendJson(response, 400, { errors: [{ code: 'DENIED', message: `bad token request ${url.search}` }] });
        return;
      }
      const token = randomUUID();
      tokens.set(token, match[1]!);
      sendJson(response, 200, { token, access_token: token, expires_in: 300 });
      return;
    }

    const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    if (manifest && (request.method === 'GET' || request.method === 'HEAD')) {
      const repository = manifest[1]!;
      const reference = decodeURIComponent(manifest[2]!);
      const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
      if (!bearer || tokens.get(bearer) !== repository) {
        sendJson(response, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }, challenge(repository));
        return;
      }
      if (!repositories().has(repository)) {
        // Docker Hub's answer for a repository that does not exist (or is private).
        sendJson(
          response,
          401,
          {
            errors: [
              {
                code: 'UNAUTHORIZED',
                message: 'authentication required',
                detail: [{ Type: 'repository', Name: repository, Action: 'pull' }],
              },
            ],
          },
          challenge(repository),
        );
        return;
      }
      if (!known.has(`${repository}:${reference}`)) {
        sendJson(response, 404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: MANIFEST_UNKNOWN_MESSAGE, detail: { Tag: reference } }] });
        return;
      }
      sendJson(
        response,
        200,
        {
          schemaVersion: 2,
          mediaType: MANIFEST_TYPE,
          config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 0, digest: 'sha256:0' },
          layers: [],
        },
        { 'content-type': MANIFEST_TYPE, 'docker-content-digest': `sha256:${'0'.repeat(64)}` },
      );
      return;
    }

    sendJson(response, 404, { errors: [{ code: 'NOT_FOUND', message: `no route ${request.method} ${url.pathname}` }] });
  };

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;

  return {
    url: base,
    host: `127.0.0.1:${port}`,
    requests,
    addImage(repository, tag) {
      known.add(`${repository}:${tag}`);
    },
    failWith(status) {
      failure = status;
    },
    misbehave(mode) {
      misbehaviour = mode;
      if (mode === undefined) for (const response of hanging) response.destroy();
    },
    hang(on) {
      hangs = on;
      if (!on) for (const response of hanging) response.destroy();
    },
    async close() {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
