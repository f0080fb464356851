// The suite cleans up after itself: a process a test starts does not outlive
// the test process, even when tap kills that process at its timeout (no
// teardown runs then). Checked by killing a stand-in test process with SIGKILL.
import { spawn } from 'node:child_process';
import t from 'tap';

const ROOT = new URL('..', import.meta.url).pathname;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

t.test('a child started with spawnTied dies when its test process is killed', async (t) => {
  // The stand-in test: starts a long sleep through the helper, prints its pid, waits.
  const script = `
    import { spawnTied } from './test/helpers/processes.ts';
    const child = spawnTied({ teardown() {} }, 'sleep', ['600'], { stdio: 'ignore' });
    console.log(child.pid);
    setInterval(() => {}, 1000);
  `;
  const testProcess = spawn(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => testProcess.kill('SIGKILL'));
  const pid = await new Promise<number>((resolve) => testProcess.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk))));
  t.ok(alive(pid), 'the child runs while its test does');

  testProcess.kill('SIGKILL');
  let gone = false;
  for (let i = 0; i < 100 && !gone; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    gone = !alive(pid);
  }
  t.ok(gone, 'the child is gone once its test process is');
});

t.test("a child started with spawnTied is stopped by the owning test's teardown", async (t) => {
  const { spawnTied } = await import('./helpers/processes.js');
  let pid = 0;
  await t.test('owner', async (owner) => {
    pid = spawnTied(owner, 'sleep', ['600'], { stdio: 'ignore' }).pid ?? 0;
    owner.ok(alive(pid));
  });
  let gone = false;
  for (let i = 0; i < 100 && !gone; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    gone = !alive(pid);
  }
  t.ok(gone, 'stopped when the test that started it ended');
});
