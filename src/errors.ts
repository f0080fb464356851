// Every error a client can see, modelled once: an HTTP status and a stable,
// machine-readable `error_code` (the spec's `ErrorCode` enum lists them with
// their meaning; the type check holds this table to it). Services and the HTTP layer throw these; the error handler
// renders them as the API's error body
// ({code, status, error_code, message, errors?}). Anything else is a 500
// with no details.

import type { components } from '../generated/openapi.js';

export type ErrorDetails = Record<string, unknown>;
export type ErrorCode = components['schemas']['ErrorCode'];

/** The stable codes, with the HTTP status each is answered with. */
export const ERROR_STATUS = {
  bad_request: 400,
  invalid_json: 400,
  invalid_encoding: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  no_such_operation: 404,
  request_timeout: 408,
  conflict: 409,
  body_too_large: 413,
  unsupported_media_type: 415,
  too_many_requests: 429,
  headers_too_large: 431,
  invalid_request: 422,
  invalid_state: 422,
  invalid_json_schema: 422,
  result_invalid: 422,
  parameters_invalid: 422,
  internal: 500,
  not_implemented: 501,
  unavailable: 503,
} as const satisfies Record<ErrorCode, number>;

export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly errors?: ErrorDetails,
    /** The code's own status, except for client errors Fastify or Node answered with another 4xx. */
    readonly statusCode: number = ERROR_STATUS[code],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** 400: the request could not be read (malformed by HTTP's rules). */
export class BadRequestError extends ApiError {
  constructor(message = 'The request could not be read') {
    super('bad_request', message);
  }
}

/** A 4xx that Fastify or Node found before any of our code ran (400, 406, 414, 431…), with its own status. */
export class FrameworkClientError extends ApiError {
  constructor(statusCode: number, message: string) {
    super('bad_request', message, undefined, statusCode);
  }
}

/** 400: the body is not JSON. */
export class InvalidJsonError extends ApiError {
  constructor() {
    super('invalid_json', 'The request body is not valid JSON');
  }
}

/** 400: text that is not UTF-8 (invalid bytes, or a query string whose %-escapes are not UTF-8). */
export class InvalidEncodingError extends ApiError {
  constructor(message: string) {
    super('invalid_encoding', message);
  }
}

/** 408: the request (its headers, or its whole body) did not arrive within the server's timeouts. */
export class RequestTimeoutError extends ApiError {
  constructor() {
    super('request_timeout', 'The request did not arrive in time; send it again, whole');
  }
}

/** 431: the request line and headers are larger than the server reads. */
export class HeadersTooLargeError extends ApiError {
  constructor() {
    super('headers_too_large', 'The request line and headers are too large');
  }
}

/** 401: no or invalid credentials. */
export class UnauthorizedError extends ApiError {
  constructor(message = 'A valid bearer token is required') {
    super('unauthorized', message);
  }
}

/** 401, raised while verifying a token: its message is safe to show the client (never the token). */
export class AuthenticationError extends UnauthorizedError {
  constructor(message: string) {
    super(message);
    this.name = 'AuthenticationError';
  }
}

/** 403: authenticated, but not allowed. */
export class ForbiddenError extends ApiError {
  constructor(message = 'You are not allowed to do this') {
    super('forbidden', message);
  }
}

/** 404: the resource named by the request does not exist. */
export class NotFoundError extends ApiError {
  constructor(resource: string, id?: string) {
    super('not_found', id === undefined ? `${resource} not found` : `${resource} ${id} not found`);
  }
}

/** 404: no operation of the spec has this method and path. */
export class NoSuchOperationError extends ApiError {
  constructor(method: string, path: string) {
    super('no_such_operation', `No operation at ${method} ${path.slice(0, 200)}`);
  }
}

/** 409: the request conflicts with what is stored (a unique key). */
export class ConflictError extends ApiError {
  constructor(message: string, errors?: ErrorDetails) {
    super('conflict', message, errors);
  }
}

/** 413: the body is larger than BODY_LIMIT. */
export class BodyTooLargeError extends ApiError {
  constructor() {
    super('body_too_large', 'The request body is too large');
  }
}

/** 415: a body that is not JSON, or not in UTF-8. */
export class UnsupportedMediaTypeError extends ApiError {
  constructor(message = 'Send the request body as application/json') {
    super('unsupported_media_type', message);
  }
}

/** 429: this client sent more requests than its rate limit allows (Retry-After says when to try again). */
export class TooManyRequestsError extends ApiError {
  constructor(message: string) {
    super('too_many_requests', message);
  }
}

/** 422: a parameter or body field is not acceptable (the spec's schemas, or rules they cannot state). */
export class UnprocessableError extends ApiError {
  constructor(message: string, errors?: ErrorDetails) {
    super('invalid_request', message, errors);
  }
}

/** 422: the request is well-formed, but what it names is not in a state that allows it (not approved, already approved). */
export class InvalidStateError extends ApiError {
  constructor(message: string) {
    super('invalid_state', message);
  }
}

/** 422: a benchmark's `json_schema` is not a JSON Schema the service can check results with. */
export class InvalidJsonSchemaError extends ApiError {
  constructor(message: string, errors?: ErrorDetails) {
    super('invalid_json_schema', message, errors);
  }
}

/** 422: a result does not match its benchmark's JSON Schema (or could not be checked in time). */
export class ResultInvalidError extends ApiError {
  constructor(message: string, errors?: ErrorDetails) {
    super('result_invalid', message, errors);
  }
}

/** 422: a run's parameters do not match its benchmark's `parameters_schema` (or could not be checked in time). */
export class ParametersInvalidError extends ApiError {
  constructor(message: string, errors?: ErrorDetails) {
    super('parameters_invalid', message, errors);
  }
}

/** 500: the generic answer to anything unexpected; the details go to the log only. */
export class InternalError extends ApiError {
  constructor() {
    super('internal', 'Internal server error; it has been logged');
  }
}

/** 501: an operation of the contract that this version does not implement yet. */
export class NotImplementedError extends ApiError {
  constructor(operationId: string) {
    super('not_implemented', `${operationId} is not implemented yet`);
  }
}

/** 503: a dependency (database, OIDC issuer, registry) did not answer; retry later. */
export class ServiceUnavailableError extends ApiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('unavailable', message);
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/** 503: a trusted identity provider could not be reached or answered nonsense. Safe to show a client. */
export class IssuerUnavailableError extends ServiceUnavailableError {
  constructor(
    readonly issuer: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'IssuerUnavailableError';
  }
}

/** 503: the database does not answer (down, restarting, out of connections, past DATABASE_TIMEOUT_MS). */
export class DatabaseUnavailableError extends ServiceUnavailableError {
  constructor(message = 'The database is not available; try again later') {
    super(message);
  }
}
