// Database errors, recognised once: constraint violations (services rely on
// the constraints, never check-then-insert, and translate the violation) and
// a database that cannot answer at all (503, whatever the query).
function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

/** A unique constraint was violated (Prisma P2002). */
export function isUniqueViolation(error: unknown): boolean {
  return codeOf(error) === 'P2002';
}

/** A foreign key points nowhere (Prisma P2003; in a raw statement, P2010 with the adapter's kind). */
export function isForeignKeyViolation(error: unknown): boolean {
  return codeOf(error) === 'P2003' || adapterCause(error)?.kind === 'ForeignKeyConstraintViolation';
}

/** The row to update or delete does not exist (Prisma P2025). */
export function isRecordNotFound(error: unknown): boolean {
  return codeOf(error) === 'P2025';
}

/** Prisma's own codes for a database it cannot reach, or timed out on. */
const UNAVAILABLE_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);

/** What driver adapters report (also inside P2010, the code of a failed raw query). */
const UNAVAILABLE_KINDS = new Set([
  'DatabaseNotReachable',
  'DatabaseDoesNotExist',
  'DatabaseAccessDenied',
  'AuthenticationFailed',
  'ConnectionClosed',
  'TlsConnectionError',
  'TooManyConnections',
  'SocketTimeout',
]);

/**
 * PostgreSQL SQLSTATEs of a server that is going away or out of resources:
 * class 08 (connection exception; not 08P01, a protocol violation, which is
 * a bug of ours), 53 (insufficient resources), 58 (system error, e.g. I/O),
 * 57P01–57P03 (shutting down, crashed, starting up), 25006 (a read-only
 * standby, as after a failover). Deadlocks and serialization failures are
 * not here: they would be bugs of ours, and stay 500s in the logs.
 */
function isUnavailableState(state: unknown): boolean {
  if (typeof state !== 'string' || state === '08P01') return false;
  // 57014: cancelled at statement_timeout (DATABASE_TIMEOUT_MS): not done, try again later.
  return /^(08|53|58)/.test(state) || /^57P0[123]$/.test(state) || state === '25006' || state === '57014';
}

/** Socket errors of a connection to the database that failed or broke (node-postgres passes them on). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** node-postgres's own errors for a connection lost or never made, or a server that stopped answering. */
const LOST_CONNECTION =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended|Query read timeout)/;

interface AdapterCause {
  kind?: unknown;
  code?: unknown;
  originalCode?: unknown;
  message?: unknown;
}

/** What the driver adapter reported, where Prisma passed it on. */
function adapterCause(error: unknown): AdapterCause | undefined {
  const meta = typeof error === 'object' && error !== null ? (error as { meta?: unknown }).meta : undefined;
  return (meta as { driverAdapterError?: { cause?: AdapterCause } } | undefined)?.driverAdapterError?.cause;
}

/**
 * The database could not answer: down, unreachable, restarting, out of
 * connections or resources. Not the client's mistake, and not a bug: 503,
 * try again later. (Socket errors and node-postgres's lost-connection
 * messages are taken as the database's: every other outbound call of the
 * service — OIDC, registry, mail — wraps its own errors.)
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const code = codeOf(error);
  if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || NETWORK_CODES.has(code))) return true;
  // A driver error Prisma passed through unwrapped: a pg DatabaseError carries the SQLSTATE as its code.
  if (error instanceof Error && LOST_CONNECTION.test(error.message)) return true;
  if (error instanceof Error && 'severity' in error && isUnavailableState(code)) return true;
  const cause = adapterCause(error);
  if (!cause) return false;
  if (typeof cause.kind === 'string' && UNAVAILABLE_KINDS.has(cause.kind)) return true;
  return cause.kind === 'postgres' && isUnavailableState(cause.originalCode ?? cause.code);
}

/** node-postgres's message for a statement sent whose answer did not come in time (query_timeout). */
const ANSWER_LOST = /Query read timeout/;

/**
 * The client gave up waiting for the answer to a statement it had sent (the
 * server stopped answering, connections open): a write may have been
 * committed or not. A refused or broken connection, or a statement the server
 * cancelled itself at statement_timeout (57014, rolled back), did not store it.
 */
export function isOutcomeUnknown(error: unknown): boolean {
  if (!isDatabaseUnavailable(error)) return false;
  return [error instanceof Error ? error.message : '', String(adapterCause(error)?.message ?? '')].some((message) =>
    ANSWER_LOST.test(message),
  );
}

/** What a failed write means to the caller, by the constraint that refused it. */
export interface WriteOutcomes {
  /** The row to update does not exist (P2025). */
  notFound?: () => Error;
  /** A unique key is taken (P2002). */
  duplicate?: () => Error;
  /** A foreign key points nowhere (P2003). */
  missingReference?: () => Error | Promise<Error>;
}

/**
 * Runs one write and turns the constraint that refused it into the caller's
 * error: the database decides, never a check before the write.
 */
export async function writeOrExplain<T>(write: () => Promise<T>, outcomes: WriteOutcomes): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (outcomes.notFound && isRecordNotFound(error)) throw outcomes.notFound();
    if (outcomes.duplicate && isUniqueViolation(error)) throw outcomes.duplicate();
    if (outcomes.missingReference && isForeignKeyViolation(error)) throw await outcomes.missingReference();
    throw error;
  }
}

/** Deletes what `remove` selects by id; `notFound()` when there was nothing. */
export async function deleteOrExplain(remove: () => Promise<{ count: number }>, notFound: () => Error): Promise<void> {
  const { count } = await remove();
  if (count === 0) throw notFound();
}
