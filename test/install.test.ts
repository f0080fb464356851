// What `npm ci` installs runs on every Node version package.json claims:
// each locked package's own `engines.node` is met by the lowest version of
// each range we claim (npm would otherwise warn EBADENGINE, and the package
// may not work there). The same claim stands in the README and the Dockerfile.
import { readFileSync } from 'node:fs';
import semver from 'semver';
import t from 'tap';

const root = new URL('../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as {
  packages: Record<string, { engines?: { node?: string } | string[] }>;
};

t.test('every locked package supports the lowest Node of each range package.json claims', async (t) => {
  const lowest = pkg.engines.node.split('||').map((range) => semver.minVersion(range.trim())?.version ?? 'none');
  t.ok(lowest.length > 0 && !lowest.includes('none'), `claimed: ${pkg.engines.node} (${lowest.join(', ')})`);
  for (const version of lowest) {
    const unmet = Object.entries(lock.packages)
      .filter(([name]) => name !== '')
      .map(([name, entry]) => [name, Array.isArray(entry.engines) ? undefined : entry.engines?.node] as const)
      .filter(([, range]) => range !== undefined && !semver.satisfies(version, range))
      .map(([name, range]) => `${name.replace(/^.*node_modules\//, '')} wants ${range}`);
    t.same(unmet, [], `Node ${version}`);
  }
});

t.test('the Node running the tests is one package.json claims', async (t) => {
  t.ok(semver.satisfies(process.version, pkg.engines.node), `${process.version} within ${pkg.engines.node}`);
});

t.test('the Dockerfile builds on a claimed Node line', async (t) => {
  const dockerfile = readFileSync(new URL('Dockerfile', root), 'utf8');
  const lines = [...dockerfile.matchAll(/^FROM node:(\d+)/gm)].map((match) => Number(match[1]));
  t.ok(lines.length > 0, 'FROM node:<major>');
  for (const major of lines) t.ok(semver.intersects(`${major}.x`, pkg.engines.node), `node:${major} within ${pkg.engines.node}`);
});
