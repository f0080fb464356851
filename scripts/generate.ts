// Regenerates generated/ from its two sources: openapi.yaml → openapi.ts
// (openapi-typescript) and prisma/schema.prisma → prisma/ (Prisma client).
// `generate(dir)` writes into another root too: the up-to-date test uses it.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name: string) => path.join(ROOT, 'node_modules', '.bin', name);

export function generate(root: string = ROOT): void {
  if (root !== ROOT) {
    mkdirSync(path.join(root, 'prisma'), { recursive: true });
    copyFileSync(path.join(ROOT, 'openapi.yaml'), path.join(root, 'openapi.yaml'));
    copyFileSync(path.join(ROOT, 'prisma', 'schema.prisma'), path.join(root, 'prisma', 'schema.prisma'));
  }
  execFileSync(bin('openapi-typescript'), ['openapi.yaml', '-o', 'generated/openapi.ts'], { cwd: root, stdio: 'pipe' });
  execFileSync(bin('prisma'), ['generate', '--schema', 'prisma/schema.prisma'], {
    cwd: root,
    stdio: 'pipe',
    // `generate` needs no schema engine, but the CLI downloads one unless told
    // where it is; any existing file stops the download (see README).
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' },
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  generate();
  process.stdout.write('generated/openapi.ts and generated/prisma/ are up to date with their sources\n');
}
