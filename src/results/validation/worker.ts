// Runs in a worker thread of ResultValidator (validator.ts): checks one
// result against its benchmark's JSON Schema. Kept off the main thread so
// that a costly schema (a backtracking `pattern`, `uniqueItems` over a large
// array of objects) can be stopped by terminating the worker, instead of
// blocking every other request.
import { checkResult, type Problem } from './benchmark-schema.js';
import { SchemaCache } from './schema-cache.js';

export interface ValidationTask {
  schema: Record<string, unknown>;
  body: unknown;
  /** Set to 1 (and notified) when this thread has the compiled schema and starts the check: the deadline counts from then. */
  started: Int32Array;
}

/** null when the body is valid; else why not (plain data: errors cannot cross threads as classes). */
export type ValidationOutcome = Problem | null;

const schemas = new SchemaCache();

export default function validateResult({ schema, body, started }: ValidationTask): ValidationOutcome {
  // Compiling is not the upload's doing: a schema is compiled once per thread
  // (and was compiled when it was sent), so the deadline counts from the check.
  const { validate, problem } = schemas.get(schema);
  Atomics.store(started, 0, 1);
  Atomics.notify(started, 0);
  // A stored schema was checked when it was sent; one that no longer compiles
  // (another ajv version) refuses its results rather than accepting them unchecked.
  if (problem) return problem;
  return checkResult(validate, body) ?? null;
}
