// What the service answers, as the contract types it: openapi.yaml, through
// generated/openapi.ts (`npm run generate`). Tests import these aliases rather
// than copying the shapes, so a change to the spec that a test does not follow
// fails the type check. Each `…_KEYS` is the exact, sorted key set of a schema
// as the tests compare it with `Object.keys(body).sort()`; the type check fails
// if a list misses or invents a property of its schema.
import type { components } from '../../generated/openapi.js';

type Schemas = components['schemas'];

export type Benchmark = Schemas['Benchmark'];
export type Site = Schemas['Site'];
export type Flavor = Schemas['Flavor'];
export type Tag = Schemas['Tag'];
export type Result = Schemas['Result'];
export type User = Schemas['User'];
export type Claim = Schemas['Claim'];
export type Submit = Schemas['Submit'];
export type Statistics = Schemas['Statistics'];
export type MetricSummary = Schemas['MetricSummary'];
export type Pagination = Schemas['Pagination'];
export type Run = Schemas['Run'];
export type Runs = Schemas['Runs'];
export type RunAssignment = Schemas['RunAssignment'];
export type RunLease = Schemas['RunLease'];
export type RunQueue = Schemas['RunQueue'];
export type SiteRunners = Schemas['SiteRunners'];
/** Every `error_code` the spec lists (the type check fails if one is missed or invented). */
export const ERROR_CODES: readonly string[] = Object.keys({
  bad_request: 0,
  invalid_json: 0,
  invalid_encoding: 0,
  unauthorized: 0,
  forbidden: 0,
  not_found: 0,
  no_such_operation: 0,
  request_timeout: 0,
  conflict: 0,
  body_too_large: 0,
  unsupported_media_type: 0,
  too_many_requests: 0,
  headers_too_large: 0,
  invalid_request: 0,
  invalid_state: 0,
  invalid_json_schema: 0,
  result_invalid: 0,
  parameters_invalid: 0,
  internal: 0,
  not_implemented: 0,
  unavailable: 0,
} satisfies Record<Schemas['ErrorCode'], 0>);

/** The JSON body of every 4xx/5xx answer. */
export type ErrorBody = Schemas['Error'];

/** A page of `T` in the pagination envelope (`Benchmarks` is `Page<Benchmark>`, and so on). */
export type Page<T> = Pagination & { items: T[] };
export type Benchmarks = Schemas['Benchmarks'];
export type Sites = Schemas['Sites'];
export type Flavors = Schemas['Flavors'];
export type Tags = Schemas['Tags'];
export type Results = Schemas['Results'];
export type ResultSummaries = Schemas['ResultSummaries'];
export type Users = Schemas['Users'];
export type Claims = Schemas['Claims'];
export type Submits = Schemas['Submits'];

/** Review status of a benchmark, site or flavor. */
export type ReviewStatus = Site['status'];

type Missing<T, K extends readonly PropertyKey[]> = Exclude<keyof T, K[number]>;

/** `keys`, checked at compile time to be exactly the properties of `T` (optional ones included). */
function keysOf<T>() {
  return <const K extends readonly (keyof T & string)[]>(
    keys: K & ([Missing<T, K>] extends [never] ? unknown : { missing: Missing<T, K> }),
  ): readonly string[] => keys;
}

export const PAGE_KEYS = keysOf<Page<unknown>>()([
  'has_next',
  'has_prev',
  'items',
  'next_num',
  'page',
  'pages',
  'per_page',
  'prev_num',
  'total',
]);
/** Without `parameters_schema`, which a benchmark has only when it was given one. */
export const BENCHMARK_KEYS = keysOf<Omit<Benchmark, 'parameters_schema'>>()([
  'description',
  'docker_image',
  'docker_tag',
  'id',
  'json_schema',
  'status',
  'upload_datetime',
  'url',
]);
export const SITE_KEYS = keysOf<Site>()(['address', 'description', 'id', 'name', 'status', 'upload_datetime']);
export const FLAVOR_KEYS = keysOf<Flavor>()(['description', 'id', 'name', 'status', 'upload_datetime']);
export const TAG_KEYS = keysOf<Tag>()(['description', 'id', 'name']);
export const RESULT_KEYS = keysOf<Result>()(['benchmark', 'execution_datetime', 'flavor', 'id', 'json', 'site', 'tags', 'upload_datetime']);
export const USER_KEYS = keysOf<User>()(['email', 'iss', 'registration_datetime', 'sub']);
export const CLAIM_KEYS = keysOf<Claim>()(['id', 'message', 'resource_id', 'resource_type', 'status', 'upload_datetime', 'uploader']);
export const RUN_KEYS = keysOf<Run>()([
  'attempts',
  'benchmark_id',
  'failure_reason',
  'finish_datetime',
  'flavor_id',
  'heartbeat_datetime',
  'id',
  'lease_deadline',
  'parameters',
  'result_id',
  'site_id',
  'start_datetime',
  'status',
  'submit_datetime',
  'tags_ids',
]);
export const SUBMIT_KEYS = keysOf<Submit>()(['id', 'resource_id', 'resource_type', 'upload_datetime', 'uploader']);
