// Ids in a request's path as an Authorizer (http/operations.ts) sees them:
// before validation, so anything may be there.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The path parameter `name` when it is a UUID; undefined otherwise, left for validation to refuse (422). */
export function pathId(params: unknown, name: string): string | undefined {
  const value = (params as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' && UUID.test(value) ? value : undefined;
}
