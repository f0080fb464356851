// The runner's settings, from its command line and environment:
//   npm run runner -- --api URL --site SITE_ID [--command TEMPLATE] [--once]
// The bearer token comes from EOSC_PERF_TOKEN, or from the command in
// EOSC_PERF_TOKEN_COMMAND (e.g. `oidc-token egi`), run again whenever the
// service answers 401 — access tokens live about an hour, a runner for weeks.
import { parseArgs } from 'node:util';

/** Docker, the parameters passed by name from the runner's environment (`-e NAME` copies it). */
export const DEFAULT_COMMAND = 'docker run --rm -e EOSC_PERF_PARAMETERS -e EOSC_PERF_RUN_ID {image}:{tag}';

export interface RunnerOptions {
  /** The API's base URL, with any prefix. */
  api: string;
  siteId: string;
  /** The container command, split on spaces; {image}, {tag}, {run_id} and {parameters} are replaced in each word. */
  command: string[];
  /** A fixed token, or the command that prints one. */
  token: { value: string } | { command: string[] };
  /** Polling back-off: the first wait after an empty queue, and the longest, ms. */
  pollMinMs: number;
  pollMaxMs: number;
  /** Stop after one run (or one empty poll): for cron-style use and tests. */
  once: boolean;
  /** The most bytes of output (stdout) a container may write; beyond, the run fails. */
  maxOutputBytes: number;
}

export class UsageError extends Error {}

export const USAGE = `usage: npm run runner -- --api <URL> --site <SITE_ID> [--command "<template>"] [--once]
                      [--poll-min <s>] [--poll-max <s>] [--max-output <MiB>]
  token: EOSC_PERF_TOKEN=<access token>, or EOSC_PERF_TOKEN_COMMAND="oidc-token <account>"
  template (default): ${DEFAULT_COMMAND}`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function words(text: string): string[] {
  return text.split(/\s+/).filter((word) => word !== '');
}

function seconds(name: string, value: string, min: number, max: number): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number < min || number > max)
    throw new UsageError(`--${name}: a number of seconds from ${min} to ${max}`);
  return number * 1000;
}

export function parseRunnerOptions(argv: string[], env: Record<string, string | undefined>): RunnerOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        api: { type: 'string' },
        site: { type: 'string' },
        command: { type: 'string', default: DEFAULT_COMMAND },
        once: { type: 'boolean', default: false },
        'poll-min': { type: 'string', default: '1' },
        'poll-max': { type: 'string', default: '30' },
        'max-output': { type: 'string', default: '16' },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const api = String(values.api ?? '');
  if (!/^https?:\/\/[^\s]+$/.test(api)) throw new UsageError('--api: the service URL, e.g. https://performance.example.org/api/v1');
  const siteId = String(values.site ?? '');
  if (!UUID.test(siteId)) throw new UsageError("--site: the site's id (a UUID)");
  const command = words(String(values.command));
  if (command.length === 0) throw new UsageError('--command: an empty template');
  const tokenValue = env.EOSC_PERF_TOKEN?.trim();
  const tokenCommand = env.EOSC_PERF_TOKEN_COMMAND?.trim();
  if (!tokenValue && !tokenCommand) throw new UsageError('no token: set EOSC_PERF_TOKEN or EOSC_PERF_TOKEN_COMMAND');
  const pollMinMs = seconds('poll-min', String(values['poll-min']), 0.01, 3600);
  const pollMaxMs = seconds('poll-max', String(values['poll-max']), 0.01, 3600);
  if (pollMaxMs < pollMinMs) throw new UsageError('--poll-max: at least --poll-min');
  const maxOutputMiB = Number(values['max-output']);
  if (!Number.isFinite(maxOutputMiB) || maxOutputMiB <= 0 || maxOutputMiB > 1024) throw new UsageError('--max-output: MiB, from 1 to 1024');
  return {
    api: api.replace(/\/+$/, ''),
    siteId,
    command,
    token: tokenCommand ? { command: words(tokenCommand) } : { value: tokenValue as string },
    pollMinMs,
    pollMaxMs,
    once: values.once === true,
    maxOutputBytes: Math.round(maxOutputMiB * 1024 * 1024),
  };
}
