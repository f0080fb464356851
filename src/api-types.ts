// The spec's types as the code sees them, all derived from generated/: the
// schemas, each operation's validated input and its answer, and the shape
// of the service registry. A change to openapi.yaml that a service does not
// follow — a missing or misnamed operation method, a wrong answer type —
// fails the type check.
import type { components, operations } from '../generated/openapi.js';
import type { operationTags } from '../generated/operation-tags.js';
import type { Caller } from './auth/caller.js';
import type { Download } from './http/download.js';
import type { JsonText } from './http/json-text.js';
import type { NoContent } from './http/no-content.js';

export type Schemas = components['schemas'];
export type OperationId = keyof operations;

/** What every service method receives: validated input and the caller. */
export interface OperationInput<Params = unknown, Query = unknown, Body = unknown, Headers = unknown> {
  params: Params;
  query: Query;
  body: Body;
  /** The request's headers, by lowercase name; those the operation declares are validated. */
  headers: Headers;
  caller?: Caller;
}

type ParametersOf<Op extends OperationId> = operations[Op]['parameters'];

export type QueryOf<Op extends OperationId> = NonNullable<ParametersOf<Op>['query']>;
export type PathOf<Op extends OperationId> = NonNullable<ParametersOf<Op>['path']>;
/** The header parameters the operation declares, by the lowercase names Node gives headers. */
export type HeadersOf<Op extends OperationId> = {
  [Name in keyof NonNullable<ParametersOf<Op>['header']> & string as Lowercase<Name>]: NonNullable<ParametersOf<Op>['header']>[Name];
};
export type BodyOf<Op extends OperationId> = operations[Op] extends {
  requestBody: { content: { 'application/json': infer Body } };
}
  ? Body
  : undefined;

/** The validated input of operation `Op`. */
export type Input<Op extends OperationId> = OperationInput<PathOf<Op>, QueryOf<Op>, BodyOf<Op>, HeadersOf<Op>>;

type SuccessBody<Responses> = Responses extends { 200: { content: { 'application/json': infer Body } } }
  ? Body
  : Responses extends { 201: { content: { 'application/json': infer Body } } }
    ? Body
    : Responses extends { 200: { content: Record<string, unknown> } }
      ? Download
      : undefined;

/** NoContent where an operation with a success body may also answer 204. */
type MaybeNoContent<Responses> = Responses extends { 204: unknown } ? NoContent : never;

/**
 * What the service method of `Op` resolves to: the success body (as a value,
 * or as JSON text already written, see http/json-text.ts), a Download for an
 * answer in another media type (http/download.ts), or nothing for a 204 —
 * or NO_CONTENT, where the spec allows both a body and a 204.
 */
export type Output<Op extends OperationId> =
  SuccessBody<operations[Op]['responses']> extends infer Body
    ? [Body] extends [undefined]
      ? // biome-ignore lint/suspicious/noConfusingVoidType: a 204's method is `async (): Promise<void>`, which `undefined` would refuse.
        void
      : [Body] extends [Download]
        ? Download
        : Body | JsonText<Body> | MaybeNoContent<operations[Op]['responses']>
    : never;

/** `ListResults` → `listResults`: the service method of an operation. */
export type MethodName<Op extends OperationId> = Uncapitalize<Op>;

export type Tag = (typeof operationTags)[OperationId];

/** The methods the service of `T` must have: one per operation of that tag. */
export type ServiceOf<T extends Tag> = {
  [Op in OperationId as (typeof operationTags)[Op] extends T ? MethodName<Op> : never]: (input: Input<Op>) => Promise<Output<Op>>;
};

/** One service object per tag of the spec. */
export type ServiceRegistry = { [T in Tag]: ServiceOf<T> };
