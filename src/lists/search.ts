// `:search` terms of every catalog and users search (docs/CONTRACT.md §3), as
// Prisma conditions. Results search their terms in SQL (db/results-query.ts).

/**
 * `:search` terms: every term must appear, as a literal case-sensitive
 * substring, in at least one of the resource's text fields.
 */
export function termsWhere<W>(terms: readonly string[] | undefined, fieldsContaining: (term: string) => W[]): { AND: { OR: W[] }[] } {
  return { AND: (terms ?? []).map((term) => ({ OR: fieldsContaining(term) })) };
}

/** `{contains}` for Prisma that matches `term` literally: LIKE wildcards are escaped. */
export function containsLiteral(term: string): { contains: string } {
  return { contains: term.replace(/[\\%_]/g, (c) => `\\${c}`) };
}
