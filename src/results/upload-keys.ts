// Idempotent uploads (the `Idempotency-Key` header of POST /results): a
// client that did not get an answer cannot know whether its upload was stored
// (a timeout, a lost connection, a 503 sent after the commit left). Retrying
// with the same key stores it at most once. The key is stored with the result
// in the same statement (db/result-insert.ts), so "stored" and "key taken"
// are one fact; a retry finds the key and is answered with that result.
import { createHash } from 'node:crypto';
import type { Schemas } from '../api-types.js';
import type { Database } from '../db/client.js';
import { UnprocessableError } from '../errors.js';
import type { JsonText } from '../http/json-text.js';

/** The key a user sent with an upload, and a fingerprint of the upload it names. */
export interface UploadKey {
  key: string;
  requestHash: string;
}

/** What an upload asks for; two requests with the same fingerprint store the same result. */
export interface UploadRequest {
  benchmark_id: string;
  flavor_id: string;
  execution_datetime: Date;
  tagIds: string[];
  body: unknown;
}

export function uploadKey(key: string, request: UploadRequest): UploadKey {
  const canonical = JSON.stringify([
    request.benchmark_id,
    request.flavor_id,
    request.execution_datetime.toISOString(),
    [...request.tagIds].sort(),
    request.body,
  ]);
  return { key, requestHash: createHash('sha256').update(canonical).digest('hex') };
}

/**
 * The result stored earlier under `upload.key` by this user, as GET /results/{id}
 * shows it; undefined when the key is unused (or its result was deleted since).
 * 422 when the key was used for a different request: a client bug that must
 * not silently answer with someone else's upload.
 */
export async function storedUpload(
  db: Database,
  user: { sub: string; iss: string },
  upload: UploadKey,
  findResult: (id: string) => Promise<JsonText<Schemas['Result']> | undefined>,
): Promise<JsonText<Schemas['Result']> | undefined> {
  const stored = await db.prisma.uploadKey.findUnique({
    where: { uploader_sub_uploader_iss_key: { uploader_sub: user.sub, uploader_iss: user.iss, key: upload.key } },
    select: { request_hash: true, result_id: true },
  });
  if (!stored) return undefined;
  if (stored.request_hash !== upload.requestHash) {
    throw new UnprocessableError('This Idempotency-Key was used for a different upload; choose a new key for each upload', {
      'header.idempotency-key': 'already used for a different request',
    });
  }
  return findResult(stored.result_id);
}
