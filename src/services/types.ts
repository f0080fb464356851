// The spec's types, as service methods see them: inputs and outputs of each
// operation come from generated/openapi.ts, so a change to openapi.yaml that
// a service does not follow fails the type check.
import type { components, operations } from '../../generated/openapi.js';
import type { OperationInput } from '../http/operations.js';

export type Schemas = components['schemas'];
export type OperationId = keyof operations;

type ParametersOf<Op extends OperationId> = operations[Op]['parameters'];

export type QueryOf<Op extends OperationId> = NonNullable<ParametersOf<Op>['query']>;
export type PathOf<Op extends OperationId> = NonNullable<ParametersOf<Op>['path']>;
export type BodyOf<Op extends OperationId> = operations[Op] extends {
  requestBody: { content: { 'application/json': infer Body } };
}
  ? Body
  : undefined;

/** The validated input of operation `Op`. */
export type Input<Op extends OperationId> = OperationInput<PathOf<Op>, QueryOf<Op>, BodyOf<Op>>;
