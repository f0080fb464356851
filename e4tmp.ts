import { startPostgres } from './test/helpers/postgres.js';
const t = performance.now();
const srv = await startPostgres();
console.log('started', Math.round(performance.now() - t), srv?.url);
if (srv) {
  console.log(await srv.createDatabase('abc'));
  if (process.argv[2] === 'kill') { console.log('exiting without stop'); process.kill(process.pid, 'SIGKILL'); }
  await srv.stop();
  console.log('stopped', Math.round(performance.now() - t));
}
