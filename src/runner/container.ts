// Running one benchmark container for the runner: the command template with
// the run's image, tag and id put in, started without a shell (an image name
// is never interpreted by one), the run's parameters passed as JSON in the
// environment (EOSC_PERF_PARAMETERS). Its stdout is the result; its stderr,
// line by line, is the run's log.
import { type ChildProcess, spawn } from 'node:child_process';

export interface ContainerRun {
  /** How it ended: its exit code (null when killed, with the signal), or why it could not start. */
  outcome: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: Buffer; tooLarge: boolean } | { error: Error }>;
  /** Stops it: SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): void;
}

/**
 * `template` with {image}, {tag}, {run_id} and {parameters} (the parameters'
 * JSON) replaced in each word. Each word stays one argument whatever it
 * holds: no shell ever reads it.
 */
export function commandFor(template: readonly string[], run: { image: string; tag: string; runId: string; parameters: unknown }): string[] {
  return template.map((word) =>
    word
      .replaceAll('{image}', run.image)
      .replaceAll('{tag}', run.tag)
      .replaceAll('{run_id}', run.runId)
      .replaceAll('{parameters}', JSON.stringify(run.parameters)),
  );
}

/**
 * Starts `argv`. `onLog` receives its stderr as it comes, a whole line at a
 * time; stdout is kept (at most `maxOutputBytes`, beyond which the process is
 * stopped and `tooLarge` set).
 */
export function startContainer(
  argv: readonly string[],
  env: Record<string, string>,
  maxOutputBytes: number,
  onLog: (line: string) => void,
): ContainerRun {
  const [program, ...args] = argv as [string, ...string[]];
  let child: ChildProcess;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (graceMs = 10_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    killTimer ??= setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
  };
  const outcome = new Promise<Awaited<ContainerRun['outcome']>>((resolve) => {
    child = spawn(program, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    child.stdout?.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxOutputBytes) {
        tooLarge = true;
        stop(1000);
        return;
      }
      chunks.push(chunk);
    });
    let partial = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLog(`${line}\n`);
    });
    child.on('error', (error) => resolve({ error }));
    child.on('close', (code, signal) => {
      clearTimeout(killTimer);
      if (partial) onLog(`${partial}\n`);
      resolve({ code, signal, stdout: Buffer.concat(chunks), tooLarge });
    });
  });
  return { outcome, stop: (graceMs) => stop(graceMs) };
}
