// Stores one uploaded result, its tags and its upload key, in one statement
// (atomic without a transaction). Raw SQL although Prisma could say most of
// it: Prisma's query serialisation walks a Json argument node by node on the
// main thread, about 100 ms for a 500 kB result, during which the service
// answers nobody. Here the result goes to PostgreSQL as one text parameter
// (cast to jsonb there), which costs what JSON.stringify costs: a few ms.
//
// upload_datetime is kept to the millisecond, the precision the API shows: a
// client filtering on a time it was shown must get what that time says.
import { Prisma, type PrismaClient } from '../../generated/prisma/client.js';

export interface NewResult {
  json: unknown;
  execution_datetime: Date;
  benchmark_id: string;
  flavor_id: string;
  site_id: string;
  uploader: { sub: string; iss: string };
  tagIds: string[];
  /** The upload's Idempotency-Key and request fingerprint, if it came with one. */
  upload?: { key: string; requestHash: string };
}

/** The stored result's own columns, as the database set them. */
export interface InsertedResult {
  id: string;
  upload_datetime: Date;
}

/**
 * Inserts the result with its result_tags and upload_keys rows. Undefined,
 * with nothing stored, when the uploader already used `upload.key` (a
 * concurrent upload with the same key waits for the other to commit or roll
 * back first). A foreign key that points nowhere fails the whole statement
 * (P2010, kind ForeignKeyConstraintViolation).
 */
export async function insertResult(prisma: PrismaClient, result: NewResult): Promise<InsertedResult | undefined> {
  const { uploader, upload } = result;
  // Without a key the id is simply new; with one, the key row is claimed first and the
  // result is only inserted when the claim succeeded (its id comes from the claim).
  const claim = upload
    ? Prisma.sql`claim AS (
        INSERT INTO upload_keys (uploader_sub, uploader_iss, key, request_hash, result_id)
        VALUES (${uploader.sub}, ${uploader.iss}, ${upload.key}, ${upload.requestHash}, gen_random_uuid())
        ON CONFLICT DO NOTHING
        RETURNING result_id AS id
      )`
    : Prisma.sql`claim AS (SELECT gen_random_uuid() AS id)`;
  const tags =
    result.tagIds.length > 0
      ? Prisma.sql`, tagged AS (
          INSERT INTO result_tags (result_id, tag_id)
          SELECT inserted.id, tag_id FROM inserted, unnest(${result.tagIds}::uuid[]) AS tag_id
        )`
      : Prisma.empty;
  const rows = await prisma.$queryRaw<InsertedResult[]>`
    WITH ${claim}, inserted AS (
      INSERT INTO results (id, upload_datetime, json, execution_datetime, benchmark_id, flavor_id, site_id, uploader_sub, uploader_iss)
      SELECT claim.id, date_trunc('milliseconds', now()), ${JSON.stringify(result.json)}::jsonb,
        ${result.execution_datetime}::timestamptz, ${result.benchmark_id}::uuid, ${result.flavor_id}::uuid,
        ${result.site_id}::uuid, ${uploader.sub}, ${uploader.iss}
      FROM claim
      RETURNING id, upload_datetime
    )${tags}
    SELECT id, upload_datetime FROM inserted`;
  return rows[0];
}
