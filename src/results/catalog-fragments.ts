// The JSON of the benchmarks, sites, flavors and tags that results embed,
// written by PostgreSQL (db/results-query.ts) and remembered as UTF-8 bytes
// until a catalog table changes. A page of 100 results embeds ~190 kB of
// them — every result its benchmark with its whole JSON Schema — but names
// only a handful of distinct entries: writing and encoding each once per
// catalog change instead of once per result is most of what makes an
// uncached page cheap (docs/PERFORMANCE.md).
import type { Database } from '../db/client.js';
import { type CatalogKind, findCatalogJson } from '../db/results-query.js';

export type CatalogIds = Record<CatalogKind, Set<string>>;

/** Looks up a fragment read or remembered for a request; undefined when the entry is gone. */
export type FragmentLookup = (kind: CatalogKind, id: string) => Buffer | undefined;

/** The most bytes of JSON remembered: benchmarks' schemas may be large, and there may be many. */
const MAX_BYTES = 32_000_000;

export class CatalogFragments {
  private readonly remembered = new Map<string, Buffer>();
  private bytes = 0;
  /** Moves with every `forget`: a fragment read before it must not be remembered after it. */
  private generation = 0;

  constructor(private readonly db: Database) {}

  /** Call when a catalog table changed, or changes may have been missed: nothing remembered is current. */
  forget(): void {
    this.remembered.clear();
    this.bytes = 0;
    this.generation += 1;
  }

  /**
   * The fragments of the `wanted` entries: remembered ones if `trusted` (the
   * caller knows every change before its request has been heard), the others
   * read in one query.
   */
  async lookup(wanted: CatalogIds, trusted: boolean): Promise<FragmentLookup> {
    const found = new Map<string, Buffer>();
    const missing: Record<CatalogKind, string[]> = { benchmark: [], site: [], flavor: [], tag: [] };
    let anyMissing = false;
    for (const [kind, ids] of Object.entries(wanted) as [CatalogKind, Set<string>][]) {
      for (const id of ids) {
        const bytes = trusted ? this.remembered.get(key(kind, id)) : undefined;
        if (bytes) found.set(key(kind, id), bytes);
        else {
          missing[kind].push(id);
          anyMissing = true;
        }
      }
    }
    if (anyMissing) {
      const generation = this.generation;
      for (const { kind, id, item } of await findCatalogJson(this.db.prisma, missing)) {
        const bytes = Buffer.from(item, 'utf8');
        found.set(key(kind, id), bytes);
        // Read after a change that was heard meanwhile, it may already be stale.
        if (trusted && generation === this.generation) this.remember(key(kind, id), bytes);
      }
    }
    return (kind, id) => found.get(key(kind, id));
  }

  private remember(name: string, bytes: Buffer): void {
    if (bytes.length > MAX_BYTES || this.remembered.has(name)) return;
    // Few entries change rarely: when full, start over rather than track use.
    if (this.bytes + bytes.length > MAX_BYTES) this.forget();
    this.remembered.set(name, bytes);
    this.bytes += bytes.length;
  }
}

function key(kind: CatalogKind, id: string): string {
  return `${kind}/${id}`;
}
