// The package version, reported by /healthz.
import { readFileSync } from 'node:fs';
import { fromRoot } from './package-root.js';

const manifest = JSON.parse(readFileSync(fromRoot('package.json'), 'utf8')) as { version: string };

export const version: string = manifest.version;
