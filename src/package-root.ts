// Where the files the service reads at run time live (openapi.yaml,
// package.json, prisma/): the package's root directory, the same whether the
// service runs from its TypeScript sources (src/) or compiled (dist/src/).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'openapi.yaml'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package root (package.json beside openapi.yaml) above ${from}`);
  }
}

export const PACKAGE_ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));

/** `relative` (e.g. 'openapi.yaml') under the package's root. */
export function fromRoot(relative: string): string {
  return path.join(PACKAGE_ROOT, relative);
}
