// npm run runner -- --api URL --site SITE_ID [--command TEMPLATE] [--once]
// (see options.ts). Logs one line per event on stderr; exits 0 when stopped
// by SIGTERM or SIGINT (a run in progress handed back to the queue), 2 on a
// usage error, 1 when it cannot go on (its identity is no runner of the site,
// no token can be had).
import { parseRunnerOptions, USAGE, UsageError } from './options.js';
import { Runner, RunnerError } from './runner.js';

function line(level: string, message: string): void {
  process.stderr.write(`${new Date().toISOString()} ${level} ${message}\n`);
}

let runner: Runner;
try {
  const options = parseRunnerOptions(process.argv.slice(2), process.env);
  runner = new Runner(options, { info: (message) => line('info', message), warn: (message) => line('warn', message) });
  line('info', `runner for site ${options.siteId} at ${options.api}`);
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`${error.message}\n${USAGE}\n`);
  process.exit(2);
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    line('info', `${signal}: stopping`);
    runner.stop();
  });
}
try {
  await runner.run();
  line('info', 'stopped');
} catch (error) {
  if (!(error instanceof RunnerError)) throw error;
  line('error', error.message);
  process.exitCode = 1;
}
