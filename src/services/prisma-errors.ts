// Database constraint violations, recognised once. Services rely on the
// constraints (never check-then-insert) and translate the violation.
function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

/** A unique constraint was violated (Prisma P2002). */
export function isUniqueViolation(error: unknown): boolean {
  return codeOf(error) === 'P2002';
}

/** A foreign key points nowhere (Prisma P2003). */
export function isForeignKeyViolation(error: unknown): boolean {
  return codeOf(error) === 'P2003';
}

/** The row to update or delete does not exist (Prisma P2025). */
export function isRecordNotFound(error: unknown): boolean {
  return codeOf(error) === 'P2025';
}
