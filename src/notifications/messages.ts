// Event → e-mails, as pure functions: no I/O, no clock, easy to test.
// Plain text only. Every id is spelled out and every link is an API call an
// operator can run: `GET /benchmarks/<id>`, or a full URL under PUBLIC_URL.
import type { NotificationEvent, NotificationType, ReviewableResource, UserRef } from './events.js';

export interface MessageContext {
  /** Public base URL of the API (with any prefix, no trailing slash); unset: plain paths. */
  publicUrl?: string;
  /** The support address (MAIL_SUPPORT); unset: support messages have no recipient. */
  support?: string;
}

export interface Message {
  event: NotificationType;
  /** Who it is for: support messages go to MAIL_SUPPORT. */
  audience: 'user' | 'support';
  /** The address; null for a support message when MAIL_SUPPORT is unset. */
  to: string | null;
  subject: string;
  text: string;
}

const SERVICE = 'EOSC Performance';

const COLLECTION: Record<ReviewableResource, string> = {
  benchmark: 'benchmarks',
  site: 'sites',
  flavor: 'flavors',
};

/** A value on one line (names come from users): no control characters, bounded. */
export function oneLine(value: string, max = 120): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what this removes.
  const flat = value.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** A free text (a claim's message) quoted line by line, bounded. */
function quote(value: string, max = 4000): string {
  const text = value.length > max ? `${value.slice(0, max)}…` : value;
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => `> ${line}`.trimEnd())
    .join('\n');
}

/** A GET link: the URL under PUBLIC_URL, or `GET /path`. */
function view(ctx: MessageContext, path: string): string {
  return ctx.publicUrl ? `${ctx.publicUrl}${path}` : `GET ${path}`;
}

/** Any other call: `POST https://…/path` or `POST /path`. */
function call(ctx: MessageContext, method: string, path: string): string {
  return `${method} ${ctx.publicUrl ?? ''}${path}`;
}

function id(value: string): string {
  return encodeURIComponent(value);
}

function who(user: UserRef): string {
  return `${oneLine(user.email)} (sub ${oneLine(user.sub)}, issuer ${oneLine(user.iss)})`;
}

/** Whom a user writes to: MAIL_SUPPORT, or (unset) the operators in general. */
function contact(ctx: MessageContext): string {
  return ctx.support ?? `the administrators of ${SERVICE}`;
}

function supportLine(ctx: MessageContext): string {
  return `Questions or problems? Write to ${contact(ctx)}.`;
}

function body(...paragraphs: string[]): string {
  return `${paragraphs.join('\n\n')}\n\n-- \n${SERVICE}\n`;
}

const ADMIN_NOTE = 'These calls need the access token of an administrator.';

export function messagesFor(event: NotificationEvent, ctx: MessageContext = {}): Message[] {
  const toUser = (to: string, subject: string, text: string): Message => ({
    event: event.type,
    audience: 'user',
    to,
    subject,
    text,
  });
  const toSupport = (subject: string, text: string): Message => ({
    event: event.type,
    audience: 'support',
    to: ctx.support ?? null,
    subject,
    text,
  });

  switch (event.type) {
    case 'user_registered':
      return [
        toUser(
          event.user.email,
          `Welcome to ${SERVICE}: you are registered`,
          body(
            'Hello,',
            `you are now registered with ${SERVICE} as ${who(event.user)}.`,
            [
              'What you can do now:',
              `- upload results of your benchmark runs: ${call(ctx, 'POST', '/results')}`,
              `- submit a new benchmark, site or flavor: ${call(ctx, 'POST', '/benchmarks')}, ${call(ctx, 'POST', '/sites')},`,
              `  ${call(ctx, 'POST', '/sites/<site_id>/flavors')}; it is public once an administrator approves it`,
              '- tag results, and claim a result you believe is wrong: the result is hidden until an administrator decides',
              `- see your uploads and claims: ${view(ctx, '/users/self/results')}, ${view(ctx, '/users/self/claims')}`,
            ].join('\n'),
            supportLine(ctx),
          ),
        ),
      ];

    case 'resource_submitted': {
      const path = `/${COLLECTION[event.resource]}/${id(event.id)}`;
      return [
        toSupport(
          `New ${event.resource} to review: ${oneLine(event.name, 80)} (${event.id})`,
          body(
            `A new ${event.resource} was submitted and waits for review.`,
            [`${event.resource}: ${oneLine(event.name)}`, `id: ${event.id}`, `submitted by: ${who(event.uploader)}`].join('\n'),
            [
              'To review it:',
              `- see it: ${view(ctx, path)}`,
              `- approve it (it becomes public): ${call(ctx, 'POST', `${path}:approve`)}`,
              `- reject it (it is removed): ${call(ctx, 'POST', `${path}:reject`)}`,
              `- everything waiting for review: ${view(ctx, '/reports/submits')}`,
              ADMIN_NOTE,
            ].join('\n'),
          ),
        ),
      ];
    }

    case 'resource_approved': {
      const path = `/${COLLECTION[event.resource]}/${id(event.id)}`;
      return [
        toUser(
          event.uploader.email,
          `Your ${event.resource} ${oneLine(event.name, 80)} was approved and is now public`,
          body(
            'Hello,',
            `an administrator approved the ${event.resource} you submitted; it is now public.`,
            [`${event.resource}: ${oneLine(event.name)}`, `id: ${event.id}`, `see it: ${view(ctx, path)}`].join('\n'),
            supportLine(ctx),
          ),
        ),
      ];
    }

    case 'resource_rejected':
      return [
        toUser(
          event.uploader.email,
          `Your ${event.resource} ${oneLine(event.name, 80)} was rejected and removed`,
          body(
            'Hello,',
            `an administrator rejected the ${event.resource} you submitted, and it was removed.`,
            [`${event.resource}: ${oneLine(event.name)}`, `id: ${event.id}`].join('\n'),
            `If you think this is a mistake, or want to know why, write to ${contact(ctx)} before submitting it again.`,
          ),
        ),
      ];

    case 'result_claimed': {
      const result = `/results/${id(event.resultId)}`;
      const claim = `/reports/claims/${id(event.claimId)}`;
      return [
        toSupport(
          `Result ${event.resultId} was claimed: claim ${event.claimId} to review`,
          body(
            'A result was claimed; it is hidden from lists and searches until an administrator decides.',
            [`result: ${event.resultId}`, `claim: ${event.claimId}`, `claimed by: ${who(event.claimer)}`].join('\n'),
            `The claim's message:\n${quote(event.message)}`,
            [
              'To review it:',
              `- the result: ${view(ctx, result)}`,
              `- the claim: ${view(ctx, claim)}`,
              `- uphold the claim (the result stays hidden): ${call(ctx, 'POST', `${claim}:approve`)}`,
              `- refuse the claim (the result is listed again): ${call(ctx, 'POST', `${claim}:reject`)}`,
              `- every claim: ${view(ctx, '/reports/claims')}`,
              ADMIN_NOTE,
            ].join('\n'),
          ),
        ),
        toUser(
          event.uploader.email,
          `Your result ${event.resultId} was claimed`,
          body(
            'Hello,',
            `somebody claimed the result ${event.resultId} that you uploaded (claim ${event.claimId}). ` +
              'The result is hidden from lists and searches until an administrator decides on the claim.',
            `The claim's message:\n${quote(event.message)}`,
            `If you want to add something, write to ${contact(ctx)} and give the claim id.`,
          ),
        ),
      ];
    }

    case 'result_restored':
      return [
        toUser(
          event.uploader.email,
          `Your result ${event.resultId} is listed again`,
          body(
            'Hello,',
            `the claim against the result ${event.resultId} that you uploaded was refused; the result is restored and listed again.`,
            `see it: ${view(ctx, `/results/${id(event.resultId)}`)}`,
            supportLine(ctx),
          ),
        ),
      ];

    case 'claim_approved':
      return [
        toUser(
          event.claimer.email,
          `Your claim ${event.claimId} on result ${event.resultId} was upheld`,
          body(
            'Hello,',
            `an administrator upheld your claim ${event.claimId} on the result ${event.resultId}; the result stays hidden from lists and searches.`,
            supportLine(ctx),
          ),
        ),
      ];

    case 'claim_rejected':
      return [
        toUser(
          event.claimer.email,
          `Your claim ${event.claimId} on result ${event.resultId} was refused`,
          body(
            'Hello,',
            `an administrator refused your claim ${event.claimId} on the result ${event.resultId}, and the claim was deleted. ` +
              'Unless another claim stands against it, the result is listed again.',
            supportLine(ctx),
          ),
        ),
      ];

    case 'run_completed':
      return [
        toUser(
          event.requester.email,
          `Your run of ${oneLine(event.benchmark, 80)} completed`,
          body(
            'Hello,',
            `the run ${event.runId} of ${oneLine(event.benchmark)} on ${oneLine(event.flavor)} that you asked for completed, ` +
              "and its output passed the benchmark's JSON Schema. It is stored as a result uploaded in your name.",
            [
              `- the result: ${view(ctx, `/results/${id(event.resultId)}`)}`,
              `- the run and its log: ${view(ctx, `/runs/${id(event.runId)}`)}, ${view(ctx, `/runs/${id(event.runId)}/log`)}`,
            ].join('\n'),
            supportLine(ctx),
          ),
        ),
      ];

    case 'run_failed':
      return [
        toUser(
          event.requester.email,
          `Your run of ${oneLine(event.benchmark, 80)} failed`,
          body(
            'Hello,',
            `the run ${event.runId} of ${oneLine(event.benchmark)} on ${oneLine(event.flavor)} that you asked for failed:`,
            quote(event.reason),
            [
              `- the run and its log: ${view(ctx, `/runs/${id(event.runId)}`)}, ${view(ctx, `/runs/${id(event.runId)}/log`)}`,
              `- ask again: ${call(ctx, 'POST', '/runs')}`,
            ].join('\n'),
            supportLine(ctx),
          ),
        ),
      ];

    case 'email_updated':
      return [
        toUser(
          event.user.email,
          `Your ${SERVICE} e-mail address was changed`,
          body(
            'Hello,',
            `the e-mail address of your ${SERVICE} account, ${oneLine(event.user.sub)} (issuer ${oneLine(event.user.iss)}), ` +
              `is now ${oneLine(event.user.email)}. Notifications go to this address from now on.`,
            `If you did not ask for this change, write to ${contact(ctx)} at once.`,
          ),
        ),
      ];
  }
}
