// Benchmarks carry a JSON Schema for their results. This module compiles
// such a user-supplied schema with the ajv class its `$schema` names
// (draft-07, 2019-09, 2020-12; 2020-12 when absent) and turns failures —
// of the schema itself, or of a result against it — into clear 422s.
// Unknown keywords are annotations (benchmark schemas carry `suggestToUser`).
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { UnprocessableError } from '../errors.js';

type AjvClass = typeof Ajv | typeof Ajv2019 | typeof Ajv2020;

const DRAFTS: Record<string, AjvClass> = {
  'http://json-schema.org/draft-07/schema': Ajv,
  'https://json-schema.org/draft/2019-09/schema': Ajv2019,
  'https://json-schema.org/draft/2020-12/schema': Ajv2020,
};

const OPTIONS: Options = {
  strict: false,
  allErrors: true,
  validateFormats: true,
  // Results are stored as sent: validation must not change them.
  useDefaults: false,
  coerceTypes: false,
  removeAdditional: false,
};

/** `$schema` URIs are written with and without `#`, `http` and `https`. */
function draftOf(schema: Record<string, unknown>): AjvClass | undefined {
  const declared = schema.$schema;
  if (declared === undefined) return Ajv2020;
  if (typeof declared !== 'string') return undefined;
  const key = declared.trim().replace(/#$/, '');
  return DRAFTS[key] ?? DRAFTS[key.replace(/^http:/, 'https:')] ?? DRAFTS[key.replace(/^https:/, 'http:')];
}

function describe(errors: ErrorObject[] | null | undefined, limit = 10): Record<string, string> {
  const details: Record<string, string> = {};
  for (const error of (errors ?? []).slice(0, limit)) {
    const where = error.instancePath === '' ? '/' : error.instancePath;
    details[where] ??= `${error.message ?? error.keyword} (${error.schemaPath})`;
  }
  return details;
}

/**
 * Compiles a benchmark's schema. A fresh ajv instance per schema: user
 * schemas may carry `$id`s that must not collide across benchmarks.
 */
export function compileBenchmarkSchema(schema: Record<string, unknown>): ValidateFunction {
  const Draft = draftOf(schema);
  if (!Draft) {
    throw new UnprocessableError(
      `json_schema: unsupported $schema ${JSON.stringify(schema.$schema)}; use draft-07, 2019-09 or 2020-12`,
      { 'body.json_schema.$schema': 'unsupported draft' },
    );
  }
  const ajv = new Draft(OPTIONS);
  addFormats.default(ajv);
  try {
    return ajv.compile(schema);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UnprocessableError(`json_schema is not a valid JSON Schema: ${reason}`, {
      'body.json_schema': reason,
    });
  }
}

/** Validates a result against its benchmark's compiled schema (422 naming the JSON paths). */
export function assertMatchesSchema(validate: ValidateFunction, json: unknown): void {
  if (validate(json)) return;
  const details = describe(validate.errors);
  const [path, message] = Object.entries(details)[0] ?? ['/', 'invalid'];
  throw new UnprocessableError(`The result does not match the benchmark's JSON Schema: at ${path}: ${message}`, details);
}
