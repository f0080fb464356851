// A spec-driven fuzzer: fast-check arbitraries for every operation of
// openapi.yaml — path, query and body built from the operation's own schemas,
// mostly valid, sometimes hostile (wrong types, huge or odd strings, unknown
// fields, random JSON) — sent with no token, a user's or an administrator's.
// Whatever is sent, the answer must be a response of the API's shape, never
// a 5xx. Used by test/fuzz.test.ts (short) and `npm run fuzz` (long).
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { indexOperations, type OpenApiDocument } from '../../src/http/spec.js';

type Schema = Record<string, unknown>;

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema?: Schema;
}

export interface FuzzRequest {
  operationId: string;
  method: string;
  url: string;
  role: 'anonymous' | 'user' | 'admin';
  body?: unknown;
  contentType?: string;
}

function resolve<T>(spec: OpenApiDocument, value: T | { $ref: string }): T {
  if (value && typeof value === 'object' && '$ref' in value && typeof value.$ref === 'string') {
    const target = value.$ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], spec);
    return resolve(spec, target as T | { $ref: string });
  }
  return value as T;
}

/** Text clients should not be able to hurt us with. */
const hostileText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '%', '%%', '+', '\\', "'", '"', ';--', '../..', '\u0000', '\ud800', 'json.', 'a b c', '1e400', 'NaN', '-0'),
  fc.string({ minLength: 1000, maxLength: 3000 }),
);

function valueFor(spec: OpenApiDocument, raw: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  const schema = resolve<Schema>(spec, raw ?? {});
  const valid = validValueFor(spec, schema, depth);
  return fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: hostileValue(depth) });
}

function hostileValue(depth: number): fc.Arbitrary<unknown> {
  return fc.oneof(
    hostileText,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    depth < 2 ? fc.array(fc.oneof(hostileText, fc.integer()), { maxLength: 5 }) : fc.constant([]),
    depth < 2 ? fc.jsonValue({ maxDepth: 3 }) : fc.constant({}),
  );
}

function validValueFor(spec: OpenApiDocument, schema: Schema, depth: number): fc.Arbitrary<unknown> {
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      if (schema.format === 'uuid') return fc.uuid();
      if (schema.format === 'date-time' || schema.format === 'date')
        return fc.date().map((d) => (Number.isNaN(d.getTime()) ? 'x' : d.toISOString()));
      return fc.string({ maxLength: Math.min(Number(schema.maxLength ?? 60), 60) });
    case 'integer':
      return fc.integer({ min: Number(schema.minimum ?? -5), max: Math.min(Number(schema.maximum ?? 1000), 1_000_000) });
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(depth < 3 ? valueFor(spec, schema.items as Schema, depth + 1) : fc.string(), { maxLength: 4 });
    case 'object': {
      if (depth >= 3) return fc.constant({});
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const required = new Set((schema.required ?? []) as string[]);
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [name, property] of Object.entries(properties)) record[name] = valueFor(spec, property, depth + 1);
      const requiredKeys = Object.keys(record).filter((key) => required.has(key));
      return fc
        .record(record, { requiredKeys })
        .chain((value) =>
          fc
            .option(fc.tuple(fc.string({ minLength: 1, maxLength: 10 }), fc.jsonValue({ maxDepth: 2 })), { freq: 5 })
            .map((extra) => (extra ? { ...value, [extra[0]]: extra[1] } : value)),
        );
    }
    default:
      return fc.jsonValue({ maxDepth: 3 });
  }
}

/** %-encoded; a lone surrogate cannot be written in UTF-8, so it becomes U+FFFD first. */
function encode(text: string): string {
  return encodeURIComponent(text.toWellFormed());
}

/** Query values as a client writes them: strings, lists as repeated keys. */
function queryPart(name: string, value: unknown): string {
  const values = Array.isArray(value) ? value : [value];
  return values
    .filter((item) => item !== undefined)
    .map((item) => `${encode(name)}=${encode(typeof item === 'string' ? item : JSON.stringify(item))}`)
    .join('&');
}

/** One arbitrary request per operation of the spec, any role. */
export function requestArbitrary(spec: OpenApiDocument): fc.Arbitrary<FuzzRequest> {
  const operations = [...indexOperations(spec).values()].map((info) => {
    const item = spec.paths[info.path] as Record<string, unknown>;
    const operation = item[info.method.toLowerCase()] as { parameters?: unknown[]; requestBody?: unknown };
    const parameters = [...((item.parameters as unknown[]) ?? []), ...(operation.parameters ?? [])].map((p) =>
      resolve<Parameter>(spec, p as Parameter),
    );
    const body = operation.requestBody
      ? resolve<{ content?: Record<string, { schema?: Schema }> }>(spec, operation.requestBody as never).content?.['application/json']
          ?.schema
      : undefined;
    const path = fc.record(
      Object.fromEntries(
        parameters
          .filter((p) => p.in === 'path')
          .map((p) => [
            p.name,
            fc.oneof({ weight: 5, arbitrary: fc.uuid() }, { weight: 1, arbitrary: hostileText.filter((s) => s.length > 0) }),
          ]),
      ),
    );
    const query = fc.record(Object.fromEntries(parameters.filter((p) => p.in === 'query').map((p) => [p.name, valueFor(spec, p.schema)])), {
      requiredKeys: [],
    });
    const bodyValue = body ? fc.option(valueFor(spec, body), { freq: 8 }) : fc.option(hostileValue(0), { freq: 2 });
    return fc
      .record({
        path,
        query,
        body: bodyValue,
        role: fc.constantFrom('anonymous', 'user', 'admin' as const),
        contentType: fc.constantFrom(
          'application/json',
          'application/json',
          'application/json',
          'text/plain',
          'application/x-www-form-urlencoded',
        ),
      })
      .map(({ path: pathValues, query: queryValues, body: bodyPayload, role, contentType }) => {
        const url = info.path.replace(/\{(\w+)\}/g, (_, name: string) => encode(String(pathValues[name] ?? 'x')));
        const search = Object.entries(queryValues)
          .map(([name, value]) => queryPart(name, value))
          .filter((part) => part !== '')
          .join('&');
        return {
          operationId: info.operationId,
          method: info.method,
          url: search ? `${url}?${search}` : url,
          role: role as FuzzRequest['role'],
          ...(bodyPayload !== null && bodyPayload !== undefined ? { body: bodyPayload, contentType } : {}),
        };
      });
  });
  return fc.oneof(...operations);
}

/** Sends `request` and returns its status, after checking the answer has the API's shape. */
export async function send(
  app: FastifyInstance,
  request: FuzzRequest,
  headers: Record<FuzzRequest['role'], Record<string, string>>,
): Promise<{ status: number; body: string }> {
  const response = await app.inject({
    method: request.method as 'GET',
    url: request.url,
    headers: {
      ...headers[request.role],
      ...(request.body !== undefined ? { 'content-type': request.contentType ?? 'application/json' } : {}),
    },
    ...(request.body !== undefined ? { payload: JSON.stringify(request.body) } : {}),
  });
  return { status: response.statusCode, body: response.body };
}
