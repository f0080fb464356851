// Each benchmark's schema is compiled once and reused for its uploads. The
// key is the schema's own text, so an updated benchmark gets a fresh compile
// without anyone having to remember to invalidate anything.
import { type Compiled, compileBenchmarkSchema } from './benchmark-schema.js';

export class SchemaCache {
  private readonly compiled = new Map<string, Compiled>();

  constructor(private readonly capacity = 256) {}

  get(schema: Record<string, unknown>): Compiled {
    const key = JSON.stringify(schema);
    const hit = this.compiled.get(key);
    if (hit) {
      // Map keeps insertion order: re-inserting marks it most recently used.
      this.compiled.delete(key);
      this.compiled.set(key, hit);
      return hit;
    }
    const compiled = compileBenchmarkSchema(schema);
    this.compiled.set(key, compiled);
    if (this.compiled.size > this.capacity) {
      const oldest = this.compiled.keys().next().value;
      if (oldest !== undefined) this.compiled.delete(oldest);
    }
    return compiled;
  }
}
