// Query strings as EOSC clients send them: `tags_ids=a&tags_ids=b` and
// `tags_ids[]=a&tags_ids[]=b` both mean the list [a, b]; `+` is a space.
import { parse } from 'node:querystring';

export function parseQueryString(text: string): Record<string, string | string[]> {
  const parsed = parse(text);
  // No prototype: a parameter named __proto__ is just an (unknown) parameter.
  const query: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const [rawKey, value] of Object.entries(parsed)) {
    if (value === undefined) continue;
    const key = rawKey.endsWith('[]') ? rawKey.slice(0, -2) : rawKey;
    const existing = query[key];
    if (existing === undefined) {
      // Keep the bracket form a list even with one value.
      query[key] = rawKey.endsWith('[]') && !Array.isArray(value) ? [value] : value;
    } else {
      query[key] = [...[existing].flat(), ...[value].flat()];
    }
  }
  return query;
}
