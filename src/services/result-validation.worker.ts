// Runs in a worker thread of ResultValidator (result-validation.ts): checks
// one result against its benchmark's JSON Schema. Kept off the main thread so
// that a costly schema (a backtracking `pattern`, `uniqueItems` over a large
// array of objects) can be stopped by terminating the worker, instead of
// blocking every other request.
import { ApiError, type ErrorDetails } from '../errors.js';
import { assertMatchesSchema } from './json-schema.js';
import { SchemaCache } from './schema-cache.js';

export interface ValidationTask {
  schema: Record<string, unknown>;
  body: unknown;
  /** Set to 1 (and notified) when this thread starts the check: the deadline counts from then. */
  started: Int32Array;
}

/** null when the body is valid; else the 422's message and details (errors cannot cross threads as classes). */
export type ValidationOutcome = { message: string; errors?: ErrorDetails } | null;

const schemas = new SchemaCache();

export default function validateResult({ schema, body, started }: ValidationTask): ValidationOutcome {
  Atomics.store(started, 0, 1);
  Atomics.notify(started, 0);
  try {
    assertMatchesSchema(schemas.get(schema), body);
    return null;
  } catch (error) {
    if (error instanceof ApiError) return { message: error.message, ...(error.errors ? { errors: error.errors } : {}) };
    throw error;
  }
}
