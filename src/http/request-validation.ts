// Request validation from the spec's schemas, with two ajv instances because
// the contract treats the parts differently: query and path strings are
// coerced to the declared types (and a single value to a one-item list),
// JSON bodies never are (`{"name": 5}` is a 422, not "5").
import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

const common: Options = {
  // The spec carries OpenAPI keywords (example, nullable, readOnly…) beside
  // JSON Schema; they are annotations, not errors.
  strict: false,
  allErrors: true,
  useDefaults: true,
  removeAdditional: false,
  messages: true,
};

function withFormats(ajv: Ajv): Ajv {
  addFormats.default(ajv);
  return ajv;
}

export function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const stringParts = withFormats(new Ajv({ ...common, coerceTypes: 'array' }));
  const body = withFormats(new Ajv({ ...common, coerceTypes: false }));
  return ({ schema, httpPart }) => (httpPart === 'body' ? body : stringParts).compile(schema as object);
}
