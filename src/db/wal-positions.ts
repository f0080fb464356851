// Positions in PostgreSQL's write-ahead log, compared between a primary and
// its replicas (read-replicas.ts).

/** A WAL position as PostgreSQL writes it ("16/B374D848") → a number that orders them. */
export function walPosition(lsn: string): bigint {
  const [high = '0', low = '0'] = lsn.split('/');
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}

/** The primary's WAL page and segment sizes, bytes (wal_block_size, wal_segment_size). */
export interface WalSizes {
  block: bigint;
  segment: bigint;
}

/** Page headers: the long one opens a segment, the short one every other page (xlog_internal.h). */
const LONG_HEADER = 40n;
const SHORT_HEADER = 24n;

/**
 * The end of the last record written, from pg_current_wal_insert_lsn()
 * (`insert`), which a replica's pg_last_wal_replay_lsn() reaches once it has
 * replayed everything. The insert position is where the next record starts:
 * after the header of a new page when the last record ended at a page's end,
 * where the replay position stays. No record ends right after a page header
 * (a page holds at least a byte of what continues on it), so the two can be
 * told apart.
 */
export function endOfWal(insert: bigint, sizes: WalSizes): bigint {
  if (insert % sizes.segment === LONG_HEADER) return insert - LONG_HEADER;
  if (insert % sizes.block === SHORT_HEADER) return insert - SHORT_HEADER;
  return insert;
}
