// One renderer for every error the service answers (docs/CONTRACT.md §3):
// {"code", "status", "error_code", "message", "errors"?} — JSON, never HTML,
// never a stack. Errors of our own code are ApiErrors (errors.ts); the
// framework's and the database's are translated to them here, once.
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Schemas } from '../api-types.js';
import { isDatabaseUnavailable, isOutcomeUnknown } from '../db/prisma-errors.js';
import {
  ApiError,
  BadRequestError,
  BodyTooLargeError,
  ConflictError,
  DatabaseUnavailableError,
  type ErrorDetails,
  FrameworkClientError,
  InternalError,
  InvalidJsonError,
  NoSuchOperationError,
  NotFoundError,
  UnprocessableError,
  UnsupportedMediaTypeError,
} from '../errors.js';

export type ErrorBody = Schemas['Error'];

export function errorBody(error: ApiError): ErrorBody {
  return {
    code: error.statusCode,
    status: STATUS_CODES[error.statusCode] ?? 'Error',
    error_code: error.code,
    message: error.message,
    ...(error.errors ? { errors: error.errors } : {}),
  };
}

interface ValidationIssue {
  instancePath: string;
  message?: string;
  keyword: string;
  params: Record<string, unknown>;
}

const PART_NAMES: Record<string, string> = { querystring: 'query', params: 'path', body: 'body', headers: 'header' };

/** ajv issues → {"query.per_page": "must be <= 100", "body.name": "must be string"}. */
function validationDetails(part: string, issues: ValidationIssue[]): ErrorDetails {
  const details: ErrorDetails = {};
  for (const issue of issues) {
    let location = [PART_NAMES[part] ?? part, ...issue.instancePath.split('/').filter(Boolean)].join('.');
    let message = issue.message ?? issue.keyword;
    if (issue.keyword === 'additionalProperties') {
      location += `.${String(issue.params.additionalProperty)}`;
      message = part === 'querystring' ? 'unknown query parameter' : 'unknown field';
    } else if (issue.keyword === 'required') {
      location += `.${String(issue.params.missingProperty)}`;
      message = 'is required';
    }
    details[location] ??= message;
  }
  return details;
}

/** Errors that glue's security check wraps: the first handler error is the real one. */
function unwrapSecurityError(error: FastifyError & { errors?: unknown[] }): unknown {
  if (error.name === 'Unauthorized' && Array.isArray(error.errors) && error.errors.length > 0) {
    return error.errors[error.errors.length - 1];
  }
  return error;
}

/** The ApiError a client is told about `raw` (in answer to an HTTP `method`); undefined for what is our fault (a 500). */
function toApiError(raw: unknown, method: string): ApiError | undefined {
  if (raw instanceof ApiError) return raw;
  const error = raw as FastifyError & { validationContext?: string };
  if (error.validation) {
    const details = validationDetails(error.validationContext ?? 'request', error.validation as ValidationIssue[]);
    const [first] = Object.entries(details);
    return new UnprocessableError(first ? `Invalid request: ${first[0]} ${String(first[1])}` : 'Invalid request', details);
  }
  if (isDatabaseUnavailable(error)) {
    // A write whose statement was sent but never answered may have been stored: say so, so that a
    // client checks before it sends the same thing again.
    if (method !== 'GET' && isOutcomeUnknown(error)) {
      return new DatabaseUnavailableError(
        'The database did not answer in time, so it is not known whether this change was stored; read it back before ' +
          'sending it again (an upload sent with an Idempotency-Key can simply be sent again with the same key)',
      );
    }
    return new DatabaseUnavailableError();
  }
  switch (error.code) {
    // Safety nets for database errors a service did not translate itself.
    case 'P2002':
      return new ConflictError('This conflicts with an existing resource');
    case 'P2025':
      return new NotFoundError('Resource');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new InvalidJsonError();
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new BodyTooLargeError();
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new UnsupportedMediaTypeError();
    default:
      break;
  }
  // Other client errors raised by Fastify itself (400 bad JSON, 406, 414…).
  const status = error.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (status === 400 && (error instanceof SyntaxError || /json/i.test(error.message ?? ''))) return new InvalidJsonError();
    return new FrameworkClientError(status, error.message ?? 'Bad request');
  }
  return undefined;
}

function isDatabaseError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^P\d{4}$/.test(code);
}

/**
 * Errors Fastify raises before routing (a URL that cannot be decoded), for its
 * `frameworkErrors` option: they bypass the error handler, so they are
 * rendered here in the same JSON body.
 */
export function frameworkErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status = typeof error.statusCode === 'number' && error.statusCode < 500 ? error.statusCode : 400;
  const answer =
    error.code === 'FST_ERR_BAD_URL' ? new BadRequestError('The URL is not valid') : new FrameworkClientError(status, error.message);
  void reply.code(answer.statusCode).send(errorBody(answer));
}

export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((raw: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const error = unwrapSecurityError(raw);
    const answer = toApiError(error, request.method);
    if (answer) {
      // 5xx, and the database safety nets: a service should have said this itself.
      if (answer.statusCode >= 500 || isDatabaseError(error)) request.log.warn({ err: error }, answer.message);
      // Every 503 is "try again": say when.
      if (answer.statusCode === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', '1');
      return reply.code(answer.statusCode).send(errorBody(answer));
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send(errorBody(new InternalError()));
  });

  app.setNotFoundHandler((request, reply) => {
    return reply.code(404).send(errorBody(new NoSuchOperationError(request.method, request.url.split('?')[0] ?? '')));
  });
}
