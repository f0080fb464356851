// How the API shows what is stored: one view per schema of openapi.yaml
// (`Benchmark`, `Site`, `Flavor`, `Tag`, `User`, `Claim`, `Submit`, `Result`).
//
// The catalog's fields are declared once, as shapes: which keys, in the
// schema's order, and which are timestamps. The TypeScript views below
// render rows with them, and db/results-query.ts writes the same JSON in SQL
// from the same shapes for results pages (PostgreSQL writes those, see
// docs/ARCHITECTURE.md), so the two cannot drift apart.
import type { Benchmark as BenchmarkRow, Flavor as FlavorRow, Prisma, Site as SiteRow, Tag as TagRow } from '../generated/prisma/client.js';
import type { Schemas } from './api-types.js';
import type { RegisteredUser } from './auth/caller.js';
import type { RunRow } from './db/run-queue.js';

/**
 * `value`: the column as stored; `timestamp`: an ISO 8601 text in UTC with
 * milliseconds (`Date.toISOString()`); `optional`: the column as stored, the
 * key left out when it is null (only as a shape's last key).
 */
export type FieldKind = 'value' | 'timestamp' | 'optional';

/** Every key of schema `T`, in the schema's order (an object literal keeps it), with its kind. */
export type Shape<T> = { readonly [K in keyof T]-?: FieldKind };

export const BENCHMARK_SHAPE = {
  id: 'value',
  upload_datetime: 'timestamp',
  docker_image: 'value',
  docker_tag: 'value',
  url: 'value',
  json_schema: 'value',
  description: 'value',
  status: 'value',
  parameters_schema: 'optional',
} as const satisfies Shape<Schemas['Benchmark']>;

export const SITE_SHAPE = {
  id: 'value',
  upload_datetime: 'timestamp',
  name: 'value',
  address: 'value',
  description: 'value',
  status: 'value',
} as const satisfies Shape<Schemas['Site']>;

export const FLAVOR_SHAPE = {
  id: 'value',
  upload_datetime: 'timestamp',
  name: 'value',
  description: 'value',
  status: 'value',
} as const satisfies Shape<Schemas['Flavor']>;

export const TAG_SHAPE = { id: 'value', name: 'value', description: 'value' } as const satisfies Shape<Schemas['Tag']>;

/** A result's own fields; its `benchmark`, `site`, `flavor` and `tags` are the views above (see `toResult`). */
export const RESULT_OWN_SHAPE = {
  id: 'value',
  upload_datetime: 'timestamp',
  execution_datetime: 'timestamp',
  json: 'value',
} as const satisfies Shape<Omit<Schemas['Result'], 'benchmark' | 'site' | 'flavor' | 'tags'>>;

/** Renders `row` as `shape` says: the shape's keys, in its order, timestamps as ISO texts. */
function render<T>(shape: Shape<T>, row: { [K in keyof T]: unknown }): T {
  const view: Record<string, unknown> = {};
  for (const [key, kind] of Object.entries(shape) as [keyof T & string, FieldKind][]) {
    const value = row[key];
    if (kind === 'optional' && value === null) continue;
    view[key] = kind === 'timestamp' ? (value as Date).toISOString() : value;
  }
  return view as T;
}

export function toBenchmark(row: BenchmarkRow): Schemas['Benchmark'] {
  return render<Schemas['Benchmark']>(BENCHMARK_SHAPE, row);
}

export function toSite(row: SiteRow): Schemas['Site'] {
  return render<Schemas['Site']>(SITE_SHAPE, row);
}

export function toFlavor(row: FlavorRow): Schemas['Flavor'] {
  return render<Schemas['Flavor']>(FLAVOR_SHAPE, row);
}

export function toTag(row: TagRow): Schemas['Tag'] {
  return render<Schemas['Tag']>(TAG_SHAPE, row);
}

export function toUser(row: RegisteredUser): Schemas['User'] {
  return {
    sub: row.sub,
    iss: row.iss,
    email: row.email,
    registration_datetime: row.registration_datetime.toISOString(),
  };
}

/** What a claim's view needs loaded with it. */
export const CLAIM_INCLUDE = { uploader: true } satisfies Prisma.ClaimInclude;
type ClaimRow = Prisma.ClaimGetPayload<{ include: typeof CLAIM_INCLUDE }>;

export function toClaim(row: ClaimRow): Schemas['Claim'] {
  return {
    id: row.id,
    upload_datetime: row.upload_datetime.toISOString(),
    message: row.message,
    resource_type: 'result',
    resource_id: row.result_id,
    status: row.status,
    uploader: toUser(row.uploader),
  };
}

/** What a submit's view needs loaded with it: the resource it stands for, and its uploader. */
export const SUBMIT_INCLUDE = {
  benchmark: { include: { uploader: true } },
  site: { include: { uploader: true } },
  flavor: { include: { uploader: true } },
  claim: { include: { uploader: true } },
} satisfies Prisma.SubmitInclude;
type SubmitRow = Prisma.SubmitGetPayload<{ include: typeof SUBMIT_INCLUDE }>;

/** A submit as the API shows it: the resource's id and uploader, whichever kind it is. */
export function toSubmit(row: SubmitRow): Schemas['Submit'] {
  const resource = row.benchmark ?? row.site ?? row.flavor ?? row.claim;
  if (!resource) throw new Error(`submit ${row.id} points at no resource`);
  return {
    id: row.id,
    upload_datetime: row.upload_datetime.toISOString(),
    resource_type: row.resource_type,
    resource_id: resource.id,
    uploader: toUser(resource.uploader),
  };
}

/**
 * By code point, as the lists' `ORDER BY t.name COLLATE "C"` (UTF-8 bytes
 * order as code points do; JS's `<` compares UTF-16 units, which differs
 * above U+FFFF).
 */
function byName(a: Schemas['Tag'], b: Schemas['Tag']): number {
  return Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));
}

/** The context a result embeds. */
export interface ResultContext {
  benchmark: BenchmarkRow;
  site: SiteRow;
  flavor: FlavorRow;
  tags: TagRow[];
}

/**
 * A result as the API shows it, from its row and its context: the answer to
 * an upload. Pages and single results are written by PostgreSQL from the
 * same shapes (db/results-query.ts).
 */
export function toResult(
  row: { id: string; json: unknown; execution_datetime: Date; upload_datetime: Date },
  context: ResultContext,
): Schemas['Result'] {
  return {
    ...render<Omit<Schemas['Result'], 'benchmark' | 'site' | 'flavor' | 'tags'>>(RESULT_OWN_SHAPE, row),
    benchmark: toBenchmark(context.benchmark),
    site: toSite(context.site),
    flavor: toFlavor(context.flavor),
    tags: context.tags.map(toTag).sort(byName),
  };
}

function isoOrNull(value: Date | null): string | null {
  return value === null ? null : value.toISOString();
}

/** A run as the API shows it: never who asked for it, nor which identity runs it. */
export function toRun(row: RunRow): Schemas['Run'] {
  return {
    id: row.id,
    status: row.status,
    benchmark_id: row.benchmark_id,
    site_id: row.site_id,
    flavor_id: row.flavor_id,
    parameters: row.parameters as Schemas['Run']['parameters'],
    tags_ids: row.tags_ids,
    submit_datetime: row.submit_datetime.toISOString(),
    start_datetime: isoOrNull(row.start_datetime),
    heartbeat_datetime: isoOrNull(row.heartbeat_datetime),
    finish_datetime: isoOrNull(row.finish_datetime),
    lease_deadline: isoOrNull(row.lease_deadline),
    attempts: row.attempts,
    failure_reason: row.failure_reason,
    result_id: row.result_id,
  };
}
