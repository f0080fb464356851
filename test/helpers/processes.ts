// Processes a test starts end with the test, however it ends. The test's
// teardown stops them when it finishes or fails; and because a test process
// killed by tap's timeout runs no teardown, each child is also started under
// `setpriv --pdeathsig SIGKILL`, so the kernel kills it the moment the test
// process is gone. setpriv execs the command: the child's pid is the command's.
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

const SETPRIV = '/usr/bin/setpriv';

/** Anything with tap's `teardown`: a test, or the whole file's `t`. */
interface Owner {
  teardown(fn: () => void | Promise<void>): void;
}

export function spawnTied(owner: Owner, command: string, args: string[], options: SpawnOptions): ChildProcess {
  const child = existsSync(SETPRIV)
    ? spawn(SETPRIV, ['--pdeathsig', 'SIGKILL', '--', command, ...args], options)
    : spawn(command, args, options);
  owner.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/** A TCP port on 127.0.0.1 that nothing listens on now, for a server a test or the bench starts. */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
