// One renderer for every error the service answers (CONTRACT §3):
// {"code", "status", "message", "errors"?} — JSON, never HTML, never a stack.
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from '../db/prisma-errors.js';
import { ApiError, type ErrorDetails } from '../errors.js';

export interface ErrorBody {
  code: number;
  status: string;
  message: string;
  errors?: ErrorDetails;
}

export function errorBody(code: number, message: string, errors?: ErrorDetails): ErrorBody {
  return { code, status: STATUS_CODES[code] ?? 'Error', message, ...(errors ? { errors } : {}) };
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

function toBody(raw: unknown): ErrorBody | undefined {
  if (raw instanceof ApiError) return errorBody(raw.statusCode, raw.message, raw.errors);
  const error = raw as FastifyError & { validationContext?: string };
  if (error.validation) {
    const part = error.validationContext ?? 'request';
    const details = validationDetails(part, error.validation as ValidationIssue[]);
    const [first] = Object.entries(details);
    const message = first ? `Invalid request: ${first[0]} ${String(first[1])}` : 'Invalid request';
    return errorBody(422, message, details);
  }
  if (isDatabaseUnavailable(error)) return errorBody(503, 'The database is not available; try again later');
  switch (error.code) {
    // Safety nets for database errors a service did not translate itself.
    case 'P2002':
      return errorBody(409, 'This conflicts with an existing resource');
    case 'P2025':
      return errorBody(404, 'Resource not found');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errorBody(400, 'The request body is not valid JSON');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errorBody(413, 'The request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errorBody(415, 'Send the request body as application/json');
    default:
      break;
  }
  // Other client errors raised by Fastify itself (400 bad JSON, 406, 414…).
  const status = error.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const badJson = status === 400 && (error instanceof SyntaxError || /json/i.test(error.message ?? ''));
    return errorBody(status, badJson ? 'The request body is not valid JSON' : (error.message ?? 'Bad request'));
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
  void reply.code(status).send(errorBody(status, error.code === 'FST_ERR_BAD_URL' ? 'The URL is not valid' : error.message));
}

export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((raw: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const error = unwrapSecurityError(raw);
    const body = toBody(error);
    if (body) {
      // 5xx, and the database safety nets: a service should have said this itself.
      if (body.code >= 500 || isDatabaseError(error)) request.log.warn({ err: error }, body.message);
      return reply.code(body.code).send(body);
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send(errorBody(500, 'Internal server error; it has been logged'));
  });

  app.setNotFoundHandler((request, reply) => {
    return reply.code(404).send(errorBody(404, `No operation at ${request.method} ${(request.url.split('?')[0] ?? '').slice(0, 200)}`));
  });
}
