// Optional check that a benchmark's container image exists (IMAGE_REGISTRY):
// the registry's v2 API is asked for the manifest of image:tag, with the
// bearer-token handshake Docker Hub uses. A missing image is the client's
// mistake (422, with the registry's reason); a registry that cannot be asked
// is ours (503, retryable) — never a silent acceptance.
import { ServiceUnavailableError, UnprocessableError } from '../errors.js';

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

// Docker's reference grammar: checked before the name goes into a URL.
const NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^\w[\w.-]{0,127}$/;
const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

export interface ImageRegistryOptions {
  /** e.g. https://registry-1.docker.io */
  url: string;
  timeoutMs?: number;
}

interface Challenge {
  realm: string;
  service?: string;
  scope?: string;
}

/** Parses `Bearer realm="…",service="…",scope="…"`. */
function parseChallenge(header: string | null): Challenge | undefined {
  if (!header || !/^bearer\s/i.test(header)) return undefined;
  const params: Record<string, string> = {};
  for (const [, key = '', value = ''] of header.matchAll(/(\w+)="([^"]*)"/g)) params[key.toLowerCase()] = value;
  if (!params.realm) return undefined;
  return { realm: params.realm, ...(params.service ? { service: params.service } : {}), ...(params.scope ? { scope: params.scope } : {}) };
}

/** 5xx and 429: the registry cannot answer now; retrying may help. */
function isTransient(status: number): boolean {
  return status >= 500 || status === 429;
}

async function registryReason(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { errors?: { code?: unknown; message?: unknown }[] };
    const first = Array.isArray(body.errors) ? body.errors[0] : undefined;
    const words = [first?.code, first?.message].filter((part): part is string => typeof part === 'string' && part !== '');
    // The registry's words reach our client: bounded.
    if (words.length > 0) return words.join(': ').slice(0, 300);
  } catch {
    // HEAD answers and non-JSON bodies carry no reason: say what the status means.
  }
  if (response.status === 404) return 'MANIFEST_UNKNOWN: no such image or tag';
  if (response.status === 401 || response.status === 403) return 'UNAUTHORIZED: the repository does not exist or is not public';
  return `HTTP ${response.status}`;
}

export class ImageRegistry {
  private readonly base: URL;
  private readonly timeoutMs: number;

  constructor(options: ImageRegistryOptions) {
    this.base = new URL(options.url);
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /**
   * Throws 422 when the registry says the image does not exist, 503 when it
   * cannot be asked. `timeoutMs` bounds the whole check (handshake included).
   */
  async assertImageExists(image: string, tag: string): Promise<void> {
    const repository = this.repositoryOf(image);
    if (repository === undefined) return;
    if (!NAME.test(repository)) {
      throw new UnprocessableError(`docker_image "${image}" is not a valid image name`, { 'body.docker_image': 'invalid image name' });
    }
    if (!TAG.test(tag)) {
      throw new UnprocessableError(`docker_tag "${tag}" is not a valid tag`, { 'body.docker_tag': 'invalid tag' });
    }
    const signal = AbortSignal.timeout(this.timeoutMs);
    const manifest = new URL(`/v2/${repository}/manifests/${tag}`, this.base);
    let auth: Record<string, string> = {};
    let response = await this.fetch(manifest, 'HEAD', auth, signal);
    if (response.status === 401) {
      const challenge = parseChallenge(response.headers.get('www-authenticate'));
      if (challenge) {
        const token = await this.token(challenge, repository, image, tag, signal);
        auth = { authorization: `Bearer ${token}` };
        response = await this.fetch(manifest, 'HEAD', auth, signal);
      }
    }
    if (response.ok) return;
    if (isTransient(response.status)) {
      throw new ServiceUnavailableError(`The container registry answered ${response.status}; try again later`);
    }
    // A HEAD answer has no body: ask again with GET to read the registry's reason
    // (falling back to what the HEAD status means when that answer is no use).
    const explained = await this.fetch(manifest, 'GET', auth, signal).catch(() => undefined);
    if (explained?.ok) return;
    const reason = await registryReason(explained && !isTransient(explained.status) ? explained : response);
    throw this.notFound(image, tag, reason);
  }

  private notFound(image: string, tag: string, reason: string): UnprocessableError {
    return new UnprocessableError(`Image ${image}:${tag} was not found in ${this.base.host}: ${reason}`, {
      'body.docker_image': reason,
    });
  }

  /**
   * The repository path inside our registry; undefined for an image that
   * names another registry host (it is not ours to ask: no requests to
   * hosts chosen by clients).
   */
  private repositoryOf(image: string): string | undefined {
    const [first, ...rest] = image.split('/');
    if (rest.length > 0 && first && (first.includes('.') || first.includes(':') || first === 'localhost')) {
      if (!this.isOurHost(first)) return undefined;
      const path = rest.join('/');
      // `docker.io/alpine` is `library/alpine`, as for the docker CLI.
      return rest.length === 1 && DOCKER_HUB.has(this.base.host) ? `library/${path}` : path;
    }
    return rest.length === 0 ? `library/${image}` : image;
  }

  /** `docker.io/…` and `index.docker.io/…` name Docker Hub, whose API is at registry-1.docker.io. */
  private isOurHost(host: string): boolean {
    return host === this.base.host || (DOCKER_HUB.has(host) && DOCKER_HUB.has(this.base.host));
  }

  private async token(challenge: Challenge, repository: string, image: string, tag: string, signal: AbortSignal): Promise<string> {
    let url: URL;
    try {
      url = new URL(challenge.realm);
    } catch {
      throw new ServiceUnavailableError(`The container registry ${this.base.host} sent an invalid token realm`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new ServiceUnavailableError(`The container registry ${this.base.host} sent an invalid token realm`);
    }
    if (challenge.service) url.searchParams.set('service', challenge.service);
    url.searchParams.set('scope', challenge.scope ?? `repository:${repository}:pull`);
    const response = await this.fetch(url, 'GET', {}, signal);
    if (isTransient(response.status)) {
      throw new ServiceUnavailableError(`The container registry's token service answered ${response.status}; try again later`);
    }
    // The registry refuses access to this repository: retrying will not help.
    if (!response.ok) throw this.notFound(image, tag, await registryReason(response));
    let body: { token?: unknown; access_token?: unknown };
    try {
      body = (await response.json()) as { token?: unknown; access_token?: unknown };
    } catch {
      // Not JSON, or the body did not arrive in time.
      throw new ServiceUnavailableError("The container registry's token service sent no readable answer; try again later");
    }
    const token = typeof body?.token === 'string' ? body.token : typeof body?.access_token === 'string' ? body.access_token : undefined;
    if (!token) throw new ServiceUnavailableError("The container registry's token service returned no token");
    return token;
  }

  private async fetch(url: URL, method: 'HEAD' | 'GET', headers: Record<string, string>, signal: AbortSignal): Promise<Response> {
    try {
      return await fetch(url, {
        method,
        headers: { accept: MANIFEST_TYPES, ...headers },
        redirect: 'follow',
        signal,
      });
    } catch {
      throw new ServiceUnavailableError(`The container registry ${this.base.host} cannot be reached; try again later`);
    }
  }
}
