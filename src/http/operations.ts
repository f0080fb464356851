// Binds every operation of openapi.yaml to its service method through
// fastify-openapi-glue. The spec is the route table: nothing here names a path.
//
// Two things glue does not do for us (fastify 5 / glue 4):
// - custom methods (`/benchmarks:search`, `/benchmarks/{id}:approve`): glue
//   would turn the colon into a parameter, so we give find-my-way a URL with
//   literal colons escaped (`::`) and parameters that cannot contain ':' or '/';
// - the contract decides who may call before it validates anything, so glue's
//   security check moves from preHandler to onRequest.
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods, RouteOptions } from 'fastify';
import openapiGlue from 'fastify-openapi-glue';
import { operationTags } from '../../generated/operation-tags.js';
import type { OperationId, OperationInput, ServiceRegistry } from '../api-types.js';
import type { Caller } from '../auth/caller.js';
import { NotImplementedError } from '../errors.js';
import type { Admission } from './admission.js';
import type { RateLimitHook } from './rate-limits.js';
import { Download, sendDownload } from './download.js';
import { JsonText, sendJsonText } from './json-text.js';
import { NoContent } from './no-content.js';
import type { LinkBase } from './page-links.js';
import { indexOperations, type OpenApiDocument } from './spec.js';

type ServiceMethod = (input: OperationInput) => Promise<unknown>;

/**
 * A check of who may act on what a request names (its uploader, say), run
 * right after the security requirement and before the request is
 * validated: throws the 403 or 404.
 */
export type Authorizer = (request: { params: unknown; caller?: Caller }) => Promise<void>;

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

/** `ListResults` → `listResults`. */
export function methodName(operationId: string): string {
  return operationId.charAt(0).toLowerCase() + operationId.slice(1);
}

/** `/benchmarks/{benchmark_id}:approve` → `/benchmarks/:benchmark_id([^:/]+)::approve`. */
export function fastifyPath(openapiPath: string): string {
  return openapiPath.replaceAll(':', '::').replace(/\{(\w+)\}/g, ':$1([^:/]+)');
}

function isOperationId(name: string): name is OperationId {
  return Object.hasOwn(operationTags, name);
}

/**
 * The service method of an operation. The registry's type guarantees one
 * for every operation of the generated types; a spec changed without
 * regenerating them is what can still lack one (answered 501).
 */
function findMethod(services: ServiceRegistry, operationId: string): ServiceMethod | undefined {
  if (!isOperationId(operationId)) return undefined;
  const service = services[operationTags[operationId]];
  if (!service) return undefined;
  const candidate = (service as unknown as Record<string, unknown>)[methodName(operationId)];
  return typeof candidate === 'function' ? (candidate.bind(service) as ServiceMethod) : undefined;
}

function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Route adjustments that apply to every operation of the spec. */
function adjustRoute(
  route: RouteOptions,
  authorize: Authorizer | undefined,
  admission: Admission | undefined,
  rateLimit: RateLimitHook | undefined,
): void {
  // Admission first (shedding load costs nothing), then who may call: a
  // missing token is a 401, a stranger a 403, whatever the body; then the
  // caller's rate limit (it is counted per user, so it needs the caller).
  const authorizing = authorize ? [async (request: FastifyRequest) => authorize(request)] : [];
  route.onRequest = [
    ...(admission ? [admission.admit] : []),
    ...asArray(route.onRequest),
    ...asArray(route.preHandler),
    ...(rateLimit ? [rateLimit] : []),
    ...authorizing,
  ];
  route.preHandler = undefined;
  if (admission) {
    route.onResponse = [...asArray(route.onResponse), admission.release];
    route.onRequestAbort = [...asArray(route.onRequestAbort), admission.release];
  }
  const schema = route.schema as Record<string, unknown> | undefined;
  if (!schema) return;
  // An unknown query parameter is a 422, not silently ignored.
  const query = (schema.querystring as Record<string, unknown> | undefined) ?? { type: 'object', properties: {} };
  schema.querystring = { ...query, additionalProperties: false };
  // Node names headers in lowercase; with a validator compiler of our own,
  // Fastify leaves the schema's names as the spec writes them (Idempotency-Key).
  const headers = schema.headers as { properties?: Record<string, unknown>; required?: string[] } | undefined;
  if (headers?.properties) {
    schema.headers = {
      ...headers,
      properties: Object.fromEntries(Object.entries(headers.properties).map(([name, value]) => [name.toLowerCase(), value])),
      ...(headers.required ? { required: headers.required.map((name) => name.toLowerCase()) } : {}),
    };
  }
  // Validate the body whatever Content-Type the client claims.
  const body = schema.body as { content?: Record<string, { schema?: unknown }> } | undefined;
  const jsonBody = body?.content?.['application/json']?.schema;
  if (jsonBody) schema.body = jsonBody;
}

export interface BindOptions {
  spec: OpenApiDocument;
  services: ServiceRegistry;
  securityHandlers: Record<string, (request: FastifyRequest, reply: FastifyReply, scopes: string[]) => Promise<void>>;
  prefix?: string;
  /** Where links in answers point instead of the request's own host (PUBLIC_URL). */
  linkBase?: LinkBase;
  /**
   * Called when a service call of an operation that is not a GET has ended,
   * whatever its outcome, before its response is sent: it may have written.
   * Requests refused before the service (401, 403, 422) and preflights do not.
   */
  onWrite?: (operationId: OperationId) => void;
  /** Checks beyond the role, by operation (see Authorizer). */
  authorizers?: Partial<Record<OperationId, Authorizer>>;
  /** Bounds how many requests are worked on and wait at once (see admission.ts). */
  admission?: Admission;
  /** Refuses a client past its rate limit (see rate-limits.ts). */
  rateLimit?: RateLimitHook;
}

export async function bindOperations(app: FastifyInstance, options: BindOptions): Promise<void> {
  const operations = indexOperations(options.spec);
  // Service calls still running: a client that went away does not stop its
  // request's work, and closing must not pull the database from under it.
  const running = new Set<Promise<unknown>>();
  app.addHook('onClose', async () => {
    await Promise.allSettled([...running]);
  });
  app.addHook('onRoute', (route) => {
    const operationId = route.schema && 'operationId' in route.schema ? String(route.schema.operationId) : undefined;
    if (operationId !== undefined) {
      adjustRoute(route, isOperationId(operationId) ? options.authorizers?.[operationId] : undefined, options.admission, options.rateLimit);
    }
  });
  await app.register(openapiGlue, {
    specification: options.spec,
    ...(options.prefix ? { prefix: options.prefix } : {}),
    securityHandlers: options.securityHandlers,
    operationResolver: (operationId: string, httpMethod: string, openapiPath: string): RouteOptions => {
      const info = operations.get(operationId);
      const method = findMethod(options.services, operationId);
      const status = info?.successStatus ?? 200;
      const onWrite = httpMethod.toUpperCase() !== 'GET' && isOperationId(operationId) ? options.onWrite : undefined;
      return {
        method: httpMethod as HTTPMethods,
        url: fastifyPath(openapiPath),
        handler: async (request: FastifyRequest, reply: FastifyReply) => {
          if (!method) throw new NotImplementedError(operationId);
          const work = method({
            params: request.params,
            query: request.query,
            body: request.body,
            headers: request.headers,
            ...(request.caller ? { caller: request.caller } : {}),
          });
          running.add(work);
          let result: unknown;
          try {
            result = await work;
          } finally {
            running.delete(work);
            onWrite?.(operationId as OperationId);
          }
          if (result instanceof NoContent) return reply.code(204).send();
          reply.code(status);
          if (status === 204) return reply.send();
          // JSON the database already wrote is sent as its bytes, not serialized again.
          if (result instanceof JsonText) return sendJsonText(request, reply, result, options.linkBase);
          if (result instanceof Download) return sendDownload(reply, result);
          return result;
        },
      };
    },
  });
}
