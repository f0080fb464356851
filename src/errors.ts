// Every error a client can see is one of these, modelled once. Services throw
// them; the HTTP error handler renders them as the contract's JSON body
// ({code, status, message, errors?}). Anything else is a 500 with no details.

export type ErrorDetails = Record<string, unknown>;

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly errors?: ErrorDetails,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** 401: no or invalid credentials. */
export class UnauthorizedError extends ApiError {
  constructor(message = 'A valid bearer token is required') {
    super(401, message);
  }
}

/** 403: authenticated, but not allowed. */
export class ForbiddenError extends ApiError {
  constructor(message = 'You are not allowed to do this') {
    super(403, message);
  }
}

/** 404: the resource named by the request does not exist. */
export class NotFoundError extends ApiError {
  constructor(resource: string, id?: string) {
    super(404, id === undefined ? `${resource} not found` : `${resource} ${id} not found`);
  }
}

/** 409: the request conflicts with what is stored (a unique key). */
export class ConflictError extends ApiError {
  constructor(message: string, errors?: ErrorDetails) {
    super(409, message, errors);
  }
}

/** 422: well-formed, but the values are not acceptable. */
export class UnprocessableError extends ApiError {
  constructor(message: string, errors?: ErrorDetails) {
    super(422, message, errors);
  }
}

/** 501: an operation of the contract that this version does not implement yet. */
export class NotImplementedError extends ApiError {
  constructor(operationId: string) {
    super(501, `${operationId} is not implemented yet`);
  }
}

/** 503: a dependency (database, OIDC issuer, registry) did not answer; retry later. */
export class ServiceUnavailableError extends ApiError {
  constructor(message: string) {
    super(503, message);
  }
}
