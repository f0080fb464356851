// Benchmarks carry a JSON Schema for their results. This module compiles
// such a user-supplied schema with the ajv class its `$schema` names
// (draft-07, 2019-09, 2020-12; 2020-12 when absent) and checks results
// against it. Both answer an outcome rather than throw an HTTP error: the
// check runs in a worker thread (validator.ts), and only plain data crosses
// that boundary. Unknown keywords are annotations (benchmark schemas carry
// `suggestToUser`).
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { InvalidJsonSchemaError } from '../../errors.js';

type AjvClass = typeof Ajv | typeof Ajv2019 | typeof Ajv2020;

interface Draft {
  Ajv: AjvClass;
  /** The meta-schema id the ajv class knows (compiling with another spelling fails). */
  metaSchema: string;
}

const DRAFT_07: Draft = { Ajv, metaSchema: 'http://json-schema.org/draft-07/schema#' };
const DRAFT_2019: Draft = { Ajv: Ajv2019, metaSchema: 'https://json-schema.org/draft/2019-09/schema' };
const DRAFT_2020: Draft = { Ajv: Ajv2020, metaSchema: 'https://json-schema.org/draft/2020-12/schema' };

const DRAFTS: Record<string, Draft> = {
  'http://json-schema.org/draft-07/schema': DRAFT_07,
  'https://json-schema.org/draft/2019-09/schema': DRAFT_2019,
  'https://json-schema.org/draft/2020-12/schema': DRAFT_2020,
};

const OPTIONS: Options = {
  strict: false,
  allErrors: true,
  validateFormats: true,
  // Results are stored as sent: validation must not change them.
  useDefaults: false,
  coerceTypes: false,
  removeAdditional: false,
  // Unknown formats are ignored (annotations); users' schemas must not write to our console.
  logger: false,
};

/** `$schema` URIs are written with and without `#`, `http` and `https`. */
function draftOf(schema: Record<string, unknown>): Draft | undefined {
  const declared = schema.$schema;
  if (declared === undefined) return DRAFT_2020;
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

/** Why something failed: a message for a person and details by JSON path. */
export interface Problem {
  message: string;
  errors: Record<string, string>;
}

/** Which of a benchmark's schemas: of its results, or of its runs' parameters. */
export type SchemaField = 'json_schema' | 'parameters_schema';

export type Compiled = { validate: ValidateFunction; problem?: undefined } | { validate?: undefined; problem: Problem };

/**
 * Compiles a benchmark's schema. A fresh ajv instance per schema: user
 * schemas may carry `$id`s that must not collide across benchmarks.
 */
export function compileBenchmarkSchema(schema: Record<string, unknown>, field: SchemaField = 'json_schema'): Compiled {
  const draft = draftOf(schema);
  if (!draft) {
    return {
      problem: {
        message: `${field}: unsupported $schema ${JSON.stringify(schema.$schema)}; use draft-07, 2019-09 or 2020-12`,
        errors: { [`body.${field}.$schema`]: 'unsupported draft' },
      },
    };
  }
  // An async schema validates to a Promise, which would accept every result
  // (and reject unhandled): results are validated synchronously only.
  // (A nested `$async` without the root's fails to compile below: ajv refuses it.)
  if (schema.$async === true) {
    return {
      problem: { message: `${field}: "$async" schemas are not supported`, errors: { [`body.${field}.$async`]: 'not supported' } },
    };
  }
  const ajv = new draft.Ajv(OPTIONS);
  addFormats.default(ajv);
  try {
    // Compiled under the meta-schema id ajv knows: `$schema` may be spelled
    // with or without `#`, over http or https. What is stored is what was sent.
    return { validate: ajv.compile(schema.$schema === undefined ? schema : { ...schema, $schema: draft.metaSchema }) };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { problem: { message: `${field} is not a valid JSON Schema: ${reason}`, errors: { [`body.${field}`]: reason } } };
  }
}

/** A benchmark's schema as a client sent it: a 422 unless the service can check results (or run parameters) with it. */
export function assertBenchmarkSchema(schema: Record<string, unknown>, field: SchemaField = 'json_schema'): void {
  const { problem } = compileBenchmarkSchema(schema, field);
  if (problem) throw new InvalidJsonSchemaError(problem.message, problem.errors);
}

/** Checks a result against its benchmark's compiled schema: undefined when it matches, else why not (by JSON path). */
export function checkResult(validate: ValidateFunction, json: unknown): Problem | undefined {
  if (validate(json) === true) return undefined;
  const errors = describe(validate.errors);
  const [path, message] = Object.entries(errors)[0] ?? ['/', 'invalid'];
  return { message: `The result does not match the benchmark's JSON Schema: at ${path}: ${message}`, errors };
}
