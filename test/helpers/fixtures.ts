// What the API suites build their cases from: names no other test uses, ids no
// resource has, and catalog items (benchmarks, sites, flavors, tags, results)
// created through the API itself, approved by an administrator unless asked not to.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { json, type Persona, type TestContext } from './app.js';
import type { Benchmark, Flavor, Page, Result, Site, Tag } from './contract.js';

/** A well-formed UUID that names no resource. */
export const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
/** The Content-Type some generated clients send with an empty body. */
export const FORM = 'application/x-www-form-urlencoded';

let nameCount = 0;

/** A name no other test uses; lowercase letters and digits only, so every collation orders it alike. */
export function unique(label: string): string {
  nameCount += 1;
  return `${label}${process.pid}n${nameCount}t${Date.now().toString(36)}`;
}

/** A name no other test uses, `label-pid-n`: lowercase, in Docker's image grammar. */
export function uniqueDashed(label: string): string {
  nameCount += 1;
  return `${label}-${process.pid}-${nameCount}`;
}

/** GET `url`, which must answer 200 (a fixture, not an assertion): the page it answers. */
export async function fetchPage<T>(app: FastifyInstance, url: string, headers: Record<string, string> = {}): Promise<Page<T>> {
  const response = await app.inject({ url, headers });
  if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode} ${response.body}`);
  return json<Page<T>>(response);
}

/** An approved benchmark, site and flavor, and a few tags, created through the API. */
export interface World {
  benchmark: Benchmark;
  site: Site;
  flavor: Flavor;
  tags: Tag[];
}

/** The query of POST /results: each defaults to the world's. */
export interface UploadOptions {
  execution?: string;
  tags?: string[];
  benchmark?: string;
  flavor?: string;
  /** Appended to the query string as is. */
  query?: string;
  /** Sent besides the token and the Content-Type, e.g. an Idempotency-Key. */
  headers?: Record<string, string>;
}

/** Catalog items created through the API by `owner`, approved by `admin` (which must be registered administrators). */
export function fixtures(ctx: TestContext, admin: Persona, owner: Persona) {
  const { app } = ctx;

  /** POST `url` as `who`, which must answer `status`: the parsed body (undefined when empty). */
  async function post<T>(url: string, who: Persona, payload: unknown, status = 201): Promise<T> {
    const response = await app.inject({ method: 'POST', url, headers: await ctx.auth(who), payload: payload as Record<string, unknown> });
    if (response.statusCode !== status) throw new Error(`POST ${url}: ${response.statusCode} ${response.body}`);
    return (response.body === '' ? undefined : JSON.parse(response.body)) as T;
  }

  /** POST an `…:approve` URL as the administrator, which must answer 204. */
  async function approve(url: string): Promise<void> {
    const response = await app.inject({ method: 'POST', url, headers: await ctx.auth(admin) });
    if (response.statusCode !== 204) throw new Error(`POST ${url}: ${response.statusCode} ${response.body}`);
  }

  async function benchmark(
    schema: Record<string, unknown> = {},
    options: { approved?: boolean; image?: string; tag?: string } = {},
  ): Promise<Benchmark> {
    const created = await post<Benchmark>('/benchmarks', owner, {
      docker_image: options.image ?? `${uniqueDashed('rt')}/bench`,
      docker_tag: options.tag ?? 'v1',
      json_schema: schema,
    });
    if (options.approved !== false) await approve(`/benchmarks/${created.id}:approve`);
    return { ...created, status: options.approved === false ? 'on_review' : 'approved' };
  }

  /** A site, as answered on creation (status `on_review` even once approved). */
  async function site(options: { approved?: boolean; name?: string; address?: string } = {}): Promise<Site> {
    const created = await post<Site>('/sites', owner, {
      name: options.name ?? uniqueDashed('site'),
      address: options.address ?? uniqueDashed('address'),
    });
    if (options.approved !== false) await approve(`/sites/${created.id}:approve`);
    return created;
  }

  /** A flavor of `siteId`, as answered on creation (status `on_review` even once approved). */
  async function flavor(siteId: string, options: { approved?: boolean; name?: string } = {}): Promise<Flavor> {
    const created = await post<Flavor>(`/sites/${siteId}/flavors`, owner, { name: options.name ?? uniqueDashed('flavor') });
    if (options.approved !== false) await approve(`/flavors/${created.id}:approve`);
    return created;
  }

  async function tag(name = uniqueDashed('tag')): Promise<Tag> {
    return post<Tag>('/tags', owner, { name });
  }

  /** An approved benchmark (of `schema`), then an approved site and flavor, then `options.tags` tags. */
  async function world(
    schema: Record<string, unknown> = {},
    options: { tags?: number; image?: string; tag?: string; siteName?: string; address?: string; flavorName?: string } = {},
  ): Promise<World> {
    const b = await benchmark(schema, {
      ...(options.image !== undefined ? { image: options.image } : {}),
      ...(options.tag !== undefined ? { tag: options.tag } : {}),
    });
    const s = await site({
      ...(options.siteName !== undefined ? { name: options.siteName } : {}),
      ...(options.address !== undefined ? { address: options.address } : {}),
    });
    const f = await flavor(s.id, options.flavorName !== undefined ? { name: options.flavorName } : {});
    const tags: Tag[] = [];
    for (let i = 0; i < (options.tags ?? 0); i += 1) tags.push(await tag());
    return { benchmark: b, site: s, flavor: f, tags };
  }

  /** POST /results?… for the world's benchmark and flavor, executed 2022-01-01T10:00:00Z unless told. */
  function uploadUrl(w: World, options: UploadOptions = {}): string {
    const query = new URLSearchParams({
      execution_datetime: options.execution ?? '2022-01-01T10:00:00Z',
      benchmark_id: options.benchmark ?? w.benchmark.id,
      flavor_id: options.flavor ?? w.flavor.id,
    });
    for (const id of options.tags ?? []) query.append('tags_ids', id);
    return `/results?${query.toString()}${options.query ?? ''}`;
  }

  /** Uploads `body` as JSON: the answer, whatever it is. */
  async function uploadRaw(w: World, body: unknown, options: UploadOptions = {}, who: Persona = owner): Promise<LightMyRequestResponse> {
    return app.inject({
      method: 'POST',
      url: uploadUrl(w, options),
      headers: { ...(await ctx.auth(who)), 'content-type': 'application/json', ...options.headers },
      payload: JSON.stringify(body),
    });
  }

  /** Uploads `body`, which must answer 201: the result. */
  async function upload(w: World, body: Record<string, unknown>, options: UploadOptions = {}, who: Persona = owner): Promise<Result> {
    const response = await uploadRaw(w, body, options, who);
    if (response.statusCode !== 201) throw new Error(`upload: ${response.statusCode} ${response.body}`);
    return json<Result>(response);
  }

  return { post, approve, benchmark, site, flavor, tag, world, uploadUrl, uploadRaw, upload };
}
