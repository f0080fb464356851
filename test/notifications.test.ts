// E-mail notifications: what each event sends to whom, and that a slow,
// broken or flooded SMTP relay never costs a request anything (a real SMTP
// server on 127.0.0.1, see helpers/smtp.ts).
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import t from 'tap';
import { pino } from 'pino';
import type { MailConfig } from '../src/config.js';
import {
  createNotifier,
  messagesFor,
  type NotificationEvent,
  type NotifierLogger,
  type NotifierOptions,
} from '../src/notifications/index.js';
import { startHangingServer, startSmtpServer, type ReceivedMail } from './helpers/smtp.js';

interface Entry {
  level: 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string;
}

function recorder(): NotifierLogger & { entries: Entry[]; text(): string } {
  const entries: Entry[] = [];
  const log =
    (level: Entry['level']) =>
    (obj: Record<string, unknown>, msg = ''): void => {
      entries.push({ level, obj, msg });
    };
  return {
    entries,
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    text: () => JSON.stringify(entries),
  };
}

const SUPPORT = 'support@perf.example.org';
const FROM = 'EOSC Performance <noreply@perf.example.org>';

function mailConfig(port: number, overrides: Partial<MailConfig> = {}): MailConfig {
  return {
    server: '127.0.0.1',
    port,
    from: FROM,
    support: SUPPORT,
    secure: false,
    starttls: 'opportunistic',
    tlsRejectUnauthorized: true,
    poolSize: 3,
    queueSize: 1000,
    timeoutMs: 1000,
    ...overrides,
  };
}

const alice = { sub: 'alice-sub', iss: 'https://aai.example.org', email: 'alice@example.org' };
const bob = { sub: 'bob-sub', iss: 'https://aai.example.org', email: 'bob@example.org' };
const BENCH = '11111111-1111-4111-8111-111111111111';
const SITE = '22222222-2222-4222-8222-222222222222';
const FLAVOR = '33333333-3333-4333-8333-333333333333';
const RESULT = '44444444-4444-4444-8444-444444444444';
const CLAIM = '55555555-5555-4555-8555-555555555555';
const RUN = '66666666-6666-4666-8666-666666666666';
const SECRET_MESSAGE = 'the numbers are copied from my run, see ticket 4711';

const events = {
  registered: { type: 'user_registered', user: alice },
  benchmarkSubmitted: { type: 'resource_submitted', resource: 'benchmark', id: BENCH, name: 'deephdc/tf-bench:1.0', uploader: alice },
  siteSubmitted: { type: 'resource_submitted', resource: 'site', id: SITE, name: 'CESGA', uploader: alice },
  flavorSubmitted: { type: 'resource_submitted', resource: 'flavor', id: FLAVOR, name: 'm1.large', uploader: alice },
  approved: { type: 'resource_approved', resource: 'benchmark', id: BENCH, name: 'deephdc/tf-bench:1.0', uploader: alice },
  rejected: { type: 'resource_rejected', resource: 'site', id: SITE, name: 'CESGA', uploader: alice },
  claimed: { type: 'result_claimed', resultId: RESULT, claimId: CLAIM, message: SECRET_MESSAGE, claimer: bob, uploader: alice },
  restored: { type: 'result_restored', resultId: RESULT, uploader: alice },
  claimApproved: { type: 'claim_approved', claimId: CLAIM, resultId: RESULT, claimer: bob },
  claimRejected: { type: 'claim_rejected', claimId: CLAIM, resultId: RESULT, claimer: bob },
  emailUpdated: { type: 'email_updated', user: { ...alice, email: 'alice.new@example.org' } },
  runCompleted: {
    type: 'run_completed',
    runId: RUN,
    resultId: RESULT,
    benchmark: 'c-ray:latest',
    flavor: 'CESNET / hpc.8',
    requester: alice,
  },
  runFailed: {
    type: 'run_failed',
    runId: RUN,
    reason: 'the container exited with status 137',
    benchmark: 'c-ray:latest',
    flavor: 'CESNET / hpc.8',
    requester: alice,
  },
} satisfies Record<string, NotificationEvent>;

/** notify() must come back at once whatever the relay does. */
function timedNotify(notifier: { notify(event: NotificationEvent): void }, event: NotificationEvent): number {
  const start = performance.now();
  notify(notifier, event);
  return performance.now() - start;
}

function notify(notifier: { notify(event: NotificationEvent): void }, event: NotificationEvent): void {
  notifier.notify(event);
}

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function timed<T>(work: Promise<T>): Promise<number> {
  const start = performance.now();
  await work;
  return performance.now() - start;
}

t.test('messages: each event, its recipients, subject and content', async (t) => {
  const ctx = { support: SUPPORT };

  const [welcome, ...restWelcome] = messagesFor(events.registered, ctx);
  t.same(restWelcome, []);
  t.match(welcome, { event: 'user_registered', audience: 'user', to: alice.email, subject: /Welcome to EOSC Performance/ });
  t.match(welcome?.text, /registered .* alice@example\.org \(sub alice-sub, issuer https:\/\/aai\.example\.org\)/s);
  t.match(welcome?.text, /POST \/results/, 'what they can do now');
  t.match(welcome?.text, /POST \/benchmarks/);
  t.match(welcome?.text, `Write to ${SUPPORT}`, 'how to reach support');

  for (const [event, collection] of [
    [events.benchmarkSubmitted, 'benchmarks'],
    [events.siteSubmitted, 'sites'],
    [events.flavorSubmitted, 'flavors'],
  ] as const) {
    const messages = messagesFor(event, ctx);
    t.equal(messages.length, 1);
    const [message] = messages;
    t.match(message, { audience: 'support', to: SUPPORT }, `${event.resource} submitted: to support`);
    t.match(message?.subject, `New ${event.resource} to review: ${event.name} (${event.id})`);
    t.match(message?.text, `submitted by: ${alice.email} (sub alice-sub, issuer https://aai.example.org)`);
    t.match(message?.text, `id: ${event.id}`);
    t.match(message?.text, `GET /${collection}/${event.id}`);
    t.match(message?.text, `POST /${collection}/${event.id}:approve`);
    t.match(message?.text, `POST /${collection}/${event.id}:reject`);
    t.match(message?.text, 'GET /reports/submits');
  }

  const [approved] = messagesFor(events.approved, ctx);
  t.match(approved, { to: alice.email, subject: 'Your benchmark deephdc/tf-bench:1.0 was approved and is now public' });
  t.match(approved?.text, `GET /benchmarks/${BENCH}`);

  const [rejected] = messagesFor(events.rejected, ctx);
  t.match(rejected, { to: alice.email, subject: 'Your site CESGA was rejected and removed' });
  t.match(rejected?.text, `id: ${SITE}`);

  const claimed = messagesFor(events.claimed, ctx);
  t.equal(claimed.length, 2, 'support and the uploader');
  const [toSupport, toUploader] = claimed;
  t.match(toSupport, { audience: 'support', to: SUPPORT, subject: `Result ${RESULT} was claimed: claim ${CLAIM} to review` });
  t.match(toSupport?.text, `> ${SECRET_MESSAGE}`);
  t.match(toSupport?.text, `claimed by: ${bob.email}`);
  t.match(toSupport?.text, `POST /reports/claims/${CLAIM}:approve`);
  t.match(toSupport?.text, `POST /reports/claims/${CLAIM}:reject`);
  t.match(toUploader, { audience: 'user', to: alice.email, subject: `Your result ${RESULT} was claimed` });
  t.match(toUploader?.text, `> ${SECRET_MESSAGE}`);
  t.notMatch(toUploader?.text, bob.email, "the claimer's address is not given to the uploader");

  const [restored] = messagesFor(events.restored, ctx);
  t.match(restored, { to: alice.email, subject: `Your result ${RESULT} is listed again` });
  t.match(restored?.text, /restored/);
  t.match(restored?.text, `GET /results/${RESULT}`);

  t.match(messagesFor(events.claimApproved, ctx), [{ to: bob.email, subject: `Your claim ${CLAIM} on result ${RESULT} was upheld` }]);
  t.match(messagesFor(events.claimRejected, ctx), [{ to: bob.email, subject: `Your claim ${CLAIM} on result ${RESULT} was refused` }]);

  const [updated] = messagesFor(events.emailUpdated, ctx);
  t.match(updated, { to: 'alice.new@example.org', subject: 'Your EOSC Performance e-mail address was changed' });
  t.match(updated?.text, 'is now alice.new@example.org');

  const [completed] = messagesFor(events.runCompleted, ctx);
  t.match(completed, { audience: 'user', to: alice.email, subject: 'Your run of c-ray:latest completed' });
  t.match(completed?.text, `GET /results/${RESULT}`, 'the result');
  t.match(completed?.text, `GET /runs/${RUN}/log`, 'the log');
  t.match(completed?.text, 'on CESNET / hpc.8');

  const [failed] = messagesFor(events.runFailed, ctx);
  t.match(failed, { audience: 'user', to: alice.email, subject: 'Your run of c-ray:latest failed' });
  t.match(failed?.text, '> the container exited with status 137', 'the reason, quoted');
  t.match(failed?.text, `GET /runs/${RUN}`);
});

t.test('messages: links under PUBLIC_URL, support unset, hostile names', async (t) => {
  const [submitted] = messagesFor(events.benchmarkSubmitted, { publicUrl: 'https://perf.example.org/api/v1', support: SUPPORT });
  t.match(submitted?.text, `https://perf.example.org/api/v1/benchmarks/${BENCH}\n`);
  t.match(submitted?.text, `POST https://perf.example.org/api/v1/benchmarks/${BENCH}:approve`);
  t.match(submitted?.text, 'https://perf.example.org/api/v1/reports/submits');

  const claimed = messagesFor(events.claimed, {});
  t.same(
    claimed.map((message) => message.to),
    [null, alice.email],
    'without MAIL_SUPPORT a support message has no recipient',
  );
  t.match(claimed[1]?.text, 'the administrators of EOSC Performance');

  const hostile = messagesFor({ ...events.flavorSubmitted, name: `evil\r\nBcc: victim@example.org\n${'x'.repeat(300)}` }, {});
  t.notMatch(hostile[0]?.subject, /[\r\n]/, 'no line break reaches a header');
  t.ok((hostile[0]?.subject.length ?? 0) < 200, 'a long name is cut in the subject');
});

t.test('every event is delivered over SMTP: envelope, headers, body', async (t) => {
  const smtp = await startSmtpServer();
  t.teardown(() => smtp.close());
  const log = recorder();
  const notifier = createNotifier(mailConfig(smtp.port, { publicUrl: 'https://perf.example.org' }), log);

  const all = Object.values(events);
  for (const event of all) notify(notifier, event);
  const expected = all.reduce((sum, event) => sum + messagesFor(event, { support: SUPPORT }).length, 0);
  await smtp.waitForMessages(expected);
  await notifier.close();
  t.equal(smtp.messages.length, expected);
  t.same(
    log.entries.filter((entry) => entry.level !== 'info'),
    [],
    'no warnings or errors',
  );

  const find = (event: string, to: string): ReceivedMail | undefined =>
    smtp.messages.find((mail) => mail.headers.get('x-eosc-perf-event') === event && mail.envelope.to.includes(to));

  const welcome = find('user_registered', alice.email);
  t.ok(welcome, 'welcome sent to the user');
  t.equal(welcome?.envelope.from, 'noreply@perf.example.org');
  t.equal(welcome?.headers.get('from'), FROM);
  t.equal(welcome?.headers.get('to'), alice.email);
  t.equal(welcome?.headers.get('auto-submitted'), 'auto-generated');
  t.match(welcome?.headers.get('content-type'), /^text\/plain/);
  t.match(welcome?.subject, 'Welcome to EOSC Performance');
  t.match(welcome?.text, 'https://perf.example.org/users/self/results');

  const submits = smtp.messages.filter((mail) => mail.headers.get('x-eosc-perf-event') === 'resource_submitted');
  t.equal(submits.length, 3);
  for (const mail of submits) t.same(mail.envelope.to, [SUPPORT]);
  t.ok(submits.some((mail) => mail.subject === `New flavor to review: m1.large (${FLAVOR})`));
  t.ok(submits.some((mail) => mail.text.includes(`POST https://perf.example.org/sites/${SITE}:approve`)));

  t.match(find('resource_approved', alice.email)?.text, `https://perf.example.org/benchmarks/${BENCH}`);
  t.match(find('resource_rejected', alice.email)?.subject, 'was rejected and removed');
  t.match(find('result_claimed', SUPPORT)?.text, SECRET_MESSAGE);
  t.match(find('result_claimed', alice.email)?.subject, `Your result ${RESULT} was claimed`);
  t.match(find('result_restored', alice.email)?.text, 'is restored and listed again');
  t.ok(find('claim_approved', bob.email));
  t.ok(find('claim_rejected', bob.email));
  t.match(find('email_updated', 'alice.new@example.org')?.text, 'is now alice.new@example.org');
  t.match(find('run_completed', alice.email)?.text, `https://perf.example.org/results/${RESULT}`);
  t.match(find('run_failed', alice.email)?.subject, 'Your run of c-ray:latest failed');
});

t.test('without MAIL_SERVER each notification is logged at info level, not sent', async (t) => {
  const log = recorder();
  const notifier = createNotifier(undefined, log);
  notify(notifier, events.registered);
  notify(notifier, events.claimed);
  await notifier.close();
  t.equal(log.entries.length, 3);
  t.ok(log.entries.every((entry) => entry.level === 'info' && /MAIL_SERVER is not set/.test(entry.msg)));
  t.match(log.entries[0]?.obj, { event: 'user_registered', to: alice.email, subject: /Welcome/, text: /registered/ });
  t.match(log.entries[1]?.obj, { event: 'result_claimed', to: null, text: new RegExp(SECRET_MESSAGE) });

  // A real pino logger is a NotifierLogger.
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  const viaPino = createNotifier(undefined, pino({ level: 'info' }, stream));
  notify(viaPino, events.approved);
  await viaPino.close();
  t.equal(lines.length, 1);
  t.match(JSON.parse(lines[0] ?? '{}'), { level: 30, event: 'resource_approved', to: alice.email });

  // So is Fastify's (app.log), silent here.
  const app = Fastify({ logger: false });
  const viaFastify = createNotifier(undefined, app.log);
  t.doesNotThrow(() => viaFastify.notify(events.approved));
  await viaFastify.close();
  await app.close();
});

t.test('notify never throws, even for an event it does not know', async (t) => {
  const log = recorder();
  const notifier = createNotifier(mailConfig(1), log);
  t.doesNotThrow(() => notifier.notify({ type: 'bogus' } as unknown as NotificationEvent));
  t.doesNotThrow(() => notifier.notify({ type: 'user_registered' } as unknown as NotificationEvent));
  t.match(log.entries, [
    { level: 'error', obj: { event: 'bogus' }, msg: 'notification could not be queued' },
    { level: 'error', obj: { event: 'user_registered' }, msg: 'notification could not be queued' },
  ]);
  await notifier.close();
});

t.test('without MAIL_SUPPORT support notifications are logged; the rest are sent', async (t) => {
  const smtp = await startSmtpServer();
  t.teardown(() => smtp.close());
  const log = recorder();
  const config = mailConfig(smtp.port);
  delete config.support;
  const notifier = createNotifier(config, log);
  notify(notifier, events.claimed);
  notify(notifier, events.siteSubmitted);
  await smtp.waitForMessages(1);
  await notifier.close();
  t.equal(smtp.messages.length, 1, "only the uploader's message");
  t.same(smtp.messages[0]?.envelope.to, [alice.email]);
  const logged = log.entries.filter((entry) => /MAIL_SUPPORT is not set/.test(entry.msg));
  t.equal(logged.length, 2);
  t.ok(logged.every((entry) => entry.level === 'info'));
  t.same(logged.map((entry) => entry.obj.event).sort(), ['resource_submitted', 'result_claimed']);
});

for (const refusal of ['rejectRcpt', 'rejectData'] as const) {
  t.test(`a relay that refuses (${refusal === 'rejectRcpt' ? 'RCPT 550' : 'DATA 554'}): failures logged, nothing waits`, async (t) => {
    const smtp = await startSmtpServer({ [refusal]: true });
    t.teardown(() => smtp.close());
    const log = recorder();
    const notifier = createNotifier(mailConfig(smtp.port), log);
    t.ok(timedNotify(notifier, events.claimed) < 20, 'notify returns at once');
    t.ok(timedNotify(notifier, events.registered) < 20);
    await until(() => log.entries.filter((entry) => entry.level === 'error').length === 3);
    const failures = log.entries.filter((entry) => entry.level === 'error');
    t.same(failures.map((entry) => entry.obj.to).sort(), [alice.email, alice.email, SUPPORT].sort());
    for (const failure of failures) {
      t.equal(failure.msg, 'notification e-mail not sent');
      t.match(failure.obj, { event: String, subject: String, err: { responseCode: refusal === 'rejectRcpt' ? 550 : 554 } });
    }
    t.notMatch(log.text(), SECRET_MESSAGE, 'no message body in the logs');
    t.ok((await timed(notifier.close())) < 500, 'close() returns promptly');
    t.equal(smtp.messages.length, 0);
  });
}

t.test('a relay that accepts the connection and never answers', async (t) => {
  const hanging = await startHangingServer();
  t.teardown(() => hanging.close());

  t.test('each delivery fails after the timeout and is logged', async (t) => {
    const log = recorder();
    const notifier = createNotifier(mailConfig(hanging.port, { timeoutMs: 200 }), log);
    t.ok(timedNotify(notifier, events.registered) < 20, 'notify returns at once');
    t.ok(timedNotify(notifier, events.approved) < 20);
    await until(() => log.entries.filter((entry) => entry.level === 'error').length === 2, 2000);
    for (const entry of log.entries) t.match(entry.obj, { to: alice.email, err: { message: String } });
    t.ok((await timed(notifier.close())) < 300, 'close() returns promptly');
  });

  t.test('close() gives up after its bound and logs what was not sent', async (t) => {
    const log = recorder();
    const options: NotifierOptions = { closeTimeoutMs: 300 };
    const notifier = createNotifier(mailConfig(hanging.port, { timeoutMs: 10_000, poolSize: 2 }), log, options);
    for (let i = 0; i < 5; i++) notify(notifier, { ...events.restored, resultId: `result-${i}` });
    await until(() => hanging.open >= 1);
    const took = await timed(notifier.close());
    t.ok(took >= 290 && took < 300 + 250 + 100, `close() took ${Math.round(took)} ms`);
    t.match(log.entries.find((entry) => /not drained/.test(entry.msg))?.obj, { queued: 3, inFlight: 2 });
    t.equal(log.entries.filter((entry) => /abandoned at shutdown/.test(entry.msg)).length, 3, 'each queued one');
    t.equal(
      log.entries.filter((entry) => entry.msg === 'notification e-mail not sent' && entry.obj.err !== undefined).length,
      2,
      'each aborted delivery',
    );
    const subjects = log.entries.map((entry) => entry.obj.subject).filter((subject) => subject !== undefined);
    t.equal(new Set(subjects).size, 5, 'all five messages accounted for');

    notify(notifier, events.registered);
    t.match(log.entries.at(-1), { level: 'warn', msg: /shutting down/, obj: { to: alice.email } });
  });
});

t.test('a burst of 500 events: all delivered over at most poolSize connections', async (t) => {
  const smtp = await startSmtpServer();
  t.teardown(() => smtp.close());
  const log = recorder();
  const notifier = createNotifier(mailConfig(smtp.port, { poolSize: 3 }), log);
  const start = performance.now();
  for (let i = 0; i < 500; i++) {
    notify(notifier, { ...events.registered, user: { ...alice, email: `user${i}@example.org` } });
  }
  t.ok(performance.now() - start < 250, '500 notify calls return at once');
  await smtp.waitForMessages(500, 20_000);
  await notifier.close();
  t.equal(smtp.messages.length, 500);
  t.equal(new Set(smtp.messages.map((mail) => mail.envelope.to[0])).size, 500, 'each recipient once');
  t.ok(smtp.maxOpen <= 3, `at most 3 connections at once (saw ${smtp.maxOpen})`);
  t.ok(smtp.total <= 6, `connections are reused (${smtp.total} in all)`);
  t.same(
    log.entries.filter((entry) => entry.level !== 'info'),
    [],
  );
});

t.test('a full queue drops the new message and says so, per message', async (t) => {
  const hanging = await startHangingServer();
  t.teardown(() => hanging.close());
  const log = recorder();
  const notifier = createNotifier(mailConfig(hanging.port, { poolSize: 1, queueSize: 2, timeoutMs: 10_000 }), log, {
    closeTimeoutMs: 100,
  });
  for (let i = 0; i < 5; i++) notify(notifier, { ...events.registered, user: { ...alice, email: `user${i}@example.org` } });
  const drops = log.entries.filter((entry) => /queue is full/.test(entry.msg));
  t.equal(drops.length, 3);
  t.same(
    drops.map((entry) => entry.obj.to),
    ['user2@example.org', 'user3@example.org', 'user4@example.org'],
  );
  t.ok(drops.every((entry) => entry.level === 'warn' && entry.obj.queueSize === 2 && entry.obj.event === 'user_registered'));
  await notifier.close();
});

t.test('close() lets a healthy queue drain first', async (t) => {
  const smtp = await startSmtpServer({ dataDelayMs: 20 });
  t.teardown(() => smtp.close());
  const log = recorder();
  const notifier = createNotifier(mailConfig(smtp.port, { poolSize: 2 }), log, { closeTimeoutMs: 3000 });
  for (let i = 0; i < 20; i++) notify(notifier, { ...events.restored, resultId: `result-${i}` });
  await notifier.close();
  t.equal(smtp.messages.length, 20, 'all sent before close() resolved');
  t.same(log.entries, []);
  await until(() => smtp.open === 0, 1000);
  t.pass('connections closed');
});

t.test('STARTTLS and AUTH against a relay that requires them', async (t) => {
  const auth = { user: 'perf', pass: 's3cret-Pa55' };
  const smtp = await startSmtpServer({ auth });
  t.teardown(() => smtp.close());

  const log = recorder();
  const notifier = createNotifier(mailConfig(smtp.port, { starttls: 'required', auth, tlsRejectUnauthorized: false }), log);
  notify(notifier, events.registered);
  await smtp.waitForMessages(1);
  await notifier.close();
  t.match(smtp.messages[0], { secure: true, user: 'perf', envelope: { to: [alice.email] } });

  // The relay's certificate is self-signed: verified (the default), delivery fails, and says why.
  const strict = recorder();
  const verifying = createNotifier(mailConfig(smtp.port, { starttls: 'required', auth }), strict);
  notify(verifying, events.registered);
  await until(() => strict.entries.some((entry) => entry.level === 'error'));
  await verifying.close();
  t.equal(smtp.messages.length, 1);
  t.match(strict.entries[0], { level: 'error', obj: { to: alice.email, err: { message: /certificate/i } } });

  const wrong = recorder();
  const badPassword = createNotifier(
    mailConfig(smtp.port, { starttls: 'required', auth: { user: 'perf', pass: 'wrong' }, tlsRejectUnauthorized: false }),
    wrong,
  );
  notify(badPassword, events.registered);
  await until(() => wrong.entries.some((entry) => entry.level === 'error'));
  await badPassword.close();
  t.match(wrong.entries[0]?.obj, { err: { code: 'EAUTH' } });
  t.notMatch(log.text() + strict.text() + wrong.text(), /s3cret|"wrong"/, 'no password in the logs');
});
