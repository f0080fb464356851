// Processes a test starts end with the test, however it ends. The test's
// teardown stops them when it finishes or fails; and because a test process
// killed by tap's timeout runs no teardown, each child is also started under
// `setpriv --pdeathsig SIGKILL`, so the kernel kills it the moment the test
// process is gone. setpriv execs the command: the child's pid is the command's.
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

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
