// The embedded database's directory belongs to one process at a time. PGlite
// has no lock of its own, and two processes writing the same directory (a
// running service and `npm run seed`) corrupt it. Whatever opens DATA_DIR
// takes this lock first (proper-lockfile: an atomic mkdir, refreshed while
// held), and a second process refuses at once, naming the holder.
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';

/** Who holds the lock, written beside it so that the next process can say so. */
interface LockOwner {
  pid: number;
  command: string;
  since: string;
}

const LOCK_NAME = 'eosc-perf.lock';
/** A lock not refreshed for this long is taken over (its holder froze or died). */
const STALE_MS = 60_000;
const REFRESH_MS = 10_000;

/** The directory is in use by another process; the message says which and what to do. */
export class DataDirLockedError extends Error {
  constructor(dir: string, owner: LockOwner | undefined) {
    const who = owner ? `process ${owner.pid} (${owner.command}, since ${owner.since})` : 'another process';
    super(
      `the embedded database in ${dir} is in use by ${who}; stop it first, ` +
        'or give this process another DATA_DIR, or share a PostgreSQL server between them with DATABASE_URL',
    );
    this.name = 'DataDirLockedError';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readOwner(ownerPath: string): Promise<LockOwner | undefined> {
  try {
    return JSON.parse(await readFile(ownerPath, 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
}

/**
 * Takes the lock of `dir` (which must exist) for this process; resolves to
 * its release. A lock left by a process that is gone (killed, crashed) is
 * taken over; one held by a live process is a DataDirLockedError.
 */
export async function lockDataDir(dir: string, log: (msg: string) => void): Promise<() => Promise<void>> {
  const lockPath = path.join(dir, LOCK_NAME);
  const ownerPath = `${lockPath}.json`;
  const options = {
    lockfilePath: lockPath,
    realpath: false,
    stale: STALE_MS,
    update: REFRESH_MS,
    // The default throws from a timer, which would crash the service: say it instead.
    onCompromised: (error: Error) => log(`embedded database lock ${lockPath}: ${error.message}`),
  };
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dir, options);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
    const owner = await readOwner(ownerPath);
    if (owner === undefined || owner.pid === process.pid || isAlive(owner.pid)) throw new DataDirLockedError(dir, owner);
    // Its holder is gone: the lock is stale, whatever its age.
    await rm(lockPath, { recursive: true, force: true });
    try {
      release = await lockfile.lock(dir, options);
    } catch (again) {
      // Another process took it over first.
      if ((again as NodeJS.ErrnoException).code === 'ELOCKED') throw new DataDirLockedError(dir, await readOwner(ownerPath));
      throw again;
    }
  }
  const owner: LockOwner = { pid: process.pid, command: process.argv.slice(1).join(' ').slice(0, 200), since: new Date().toISOString() };
  await writeFile(ownerPath, JSON.stringify(owner));
  return async () => {
    await rm(ownerPath, { force: true });
    await release();
  };
}
