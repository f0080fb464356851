// The answer of an operation that has content to send, or else a 204: a
// service method resolves to NO_CONTENT for "nothing", e.g. POST
// /sites/{site_id}/runs:take when no run waits.

export class NoContent {
  readonly status = 204;
}

/** Answered as `204 No Content`. */
export const NO_CONTENT = new NoContent();
