// Sends notification e-mails without ever making a request wait for them.
//
// notify() composes the messages and puts them on a bounded in-memory queue;
// a pooled nodemailer transport drains it over at most `poolSize` SMTP
// connections, never more than `poolSize` messages handed to it at once.
// A full queue drops the new message and says so in the log; a failed
// delivery is logged with its event type, recipient and subject, never its
// body. close() waits a bounded time for the queue to drain, then logs every
// message it gives up on.
//
// Without MAIL_SERVER every message is logged at info level instead of sent;
// without MAIL_SUPPORT so are the messages for support.
import nodemailer, { type SMTPPoolOptions, type SMTPPoolSentMessageInfo, type Transporter } from 'nodemailer';
import type { MailConfig } from '../config.js';
import type { NotificationEvent } from './events.js';
import { messagesFor, type Message, type MessageContext } from './messages.js';

/** The subset of a pino / Fastify logger used here. */
export interface NotifierLogger {
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
}

export interface Notifier {
  /** Queues the e-mails of one event and returns at once; never throws. */
  notify(event: NotificationEvent): void;
  /** E-mails queued and not yet handed to the relay. */
  pending(): number;
  /**
   * Stops taking messages, waits up to `closeTimeoutMs` for the queue to drain,
   * then abandons (and logs) what is left and closes the SMTP connections.
   * Resolves within about `closeTimeoutMs` + 250 ms; never rejects.
   */
  close(): Promise<void>;
}

export interface NotifierOptions {
  /** How long close() waits for queued and in-flight e-mails, ms. Default 5000. */
  closeTimeoutMs?: number;
}

export const DEFAULT_CLOSE_TIMEOUT_MS = 5000;

/** Where the message went or would go; never the body. */
function about(message: Message): Record<string, unknown> {
  return { event: message.event, to: message.to, subject: message.subject };
}

/** What an SMTP failure says, without anything of the message. */
function describe(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const details: Record<string, unknown> = { name: error.name, message: error.message };
  for (const key of ['code', 'responseCode', 'command'] as const) {
    const value: unknown = (error as unknown as Record<string, unknown>)[key];
    if (typeof value === 'string' || typeof value === 'number') details[key] = value;
  }
  // An aborted delivery says why: its deadline, or shutdown.
  if (error.cause instanceof Error) details.cause = error.cause.message;
  return details;
}

/** Shared by both notifiers: compose, refuse the unaddressed. */
abstract class BaseNotifier implements Notifier {
  constructor(
    protected readonly logger: NotifierLogger,
    private readonly context: MessageContext,
  ) {}

  notify(event: NotificationEvent): void {
    try {
      for (const message of messagesFor(event, this.context)) {
        if (message.to !== null && message.to.trim() === '') {
          this.logger.warn(about(message), 'notification not sent: the recipient has no e-mail address');
        } else {
          this.deliver(message);
        }
      }
    } catch (error) {
      // A bug here must not fail the request that reported the event.
      const type = (event as { type?: unknown } | undefined)?.type;
      this.logger.error({ event: type, err: describe(error) }, 'notification could not be queued');
    }
  }

  protected abstract deliver(message: Message): void;
  abstract pending(): number;
  abstract close(): Promise<void>;
}

/** Without MAIL_SERVER: each message is logged at info level, whole. */
class LogNotifier extends BaseNotifier {
  protected deliver(message: Message): void {
    this.logger.info({ ...about(message), text: message.text }, 'notification logged, not sent: MAIL_SERVER is not set');
  }

  pending(): number {
    return 0;
  }

  async close(): Promise<void> {}
}

class SmtpNotifier extends BaseNotifier {
  private readonly transport: Transporter<SMTPPoolSentMessageInfo, SMTPPoolOptions>;
  private readonly config: MailConfig;
  private readonly closeTimeoutMs: number;
  /** Waiting messages; `head` is the next one (no O(n) shift on a long queue). */
  private queue: Message[] = [];
  private head = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private pumpScheduled = false;
  private closing: Promise<void> | undefined;
  /** One per delivery in flight: aborted by its own deadline, or by close() giving up. */
  private readonly aborts = new Set<AbortController>();
  private idleWaiters: (() => void)[] = [];

  constructor(config: MailConfig, logger: NotifierLogger, options: NotifierOptions) {
    super(logger, { ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}), ...(config.support ? { support: config.support } : {}) });
    this.config = config;
    this.closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    this.transport = nodemailer.createTransport(
      {
        pool: true,
        host: config.server,
        port: config.port,
        secure: config.secure,
        requireTLS: !config.secure && config.starttls === 'required',
        ignoreTLS: !config.secure && config.starttls === 'off',
        tls: { rejectUnauthorized: config.tlsRejectUnauthorized },
        ...(config.auth ? { auth: { user: config.auth.user, pass: config.auth.pass } } : {}),
        maxConnections: config.poolSize,
        // Keep connections rather than recycle them every 100 messages: a recycled
        // connection still closing would briefly make one more than poolSize.
        maxMessages: Infinity,
        idleTimeout: 60_000,
        connectionTimeout: config.timeoutMs,
        greetingTimeout: config.timeoutMs,
        socketTimeout: config.timeoutMs,
        socketCloseTimeout: Math.min(config.timeoutMs, 5000),
        dnsTimeout: config.timeoutMs,
        logger: false,
      },
      { from: config.from },
    );
    // Failures reach each sendMail; this only keeps a stray 'error' event from crashing the process.
    this.transport.on('error', (error: unknown) => {
      this.logger.error({ err: describe(error) }, 'mail transport error');
    });
  }

  private get waiting(): number {
    return this.queue.length - this.head;
  }

  pending(): number {
    return this.waiting;
  }

  protected deliver(message: Message): void {
    if (message.to === null) {
      this.logger.info({ ...about(message), text: message.text }, 'notification for support logged, not sent: MAIL_SUPPORT is not set');
      return;
    }
    if (this.closing) {
      this.logger.warn(about(message), 'notification e-mail not sent: the service is shutting down');
      return;
    }
    if (this.waiting >= this.config.queueSize) {
      this.logger.warn(
        { ...about(message), queueSize: this.config.queueSize },
        'notification e-mail dropped: the mail queue is full (MAIL_QUEUE_SIZE)',
      );
      return;
    }
    this.queue.push(message);
    // Hand over on the next turn of the event loop: notify() only enqueues.
    if (!this.pumpScheduled) {
      this.pumpScheduled = true;
      setImmediate(() => {
        this.pumpScheduled = false;
        this.pump();
      });
    }
  }

  private take(): Message | undefined {
    if (this.waiting === 0) return undefined;
    const message = this.queue[this.head];
    this.head += 1;
    if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return message;
  }

  private pump(): void {
    while (this.inFlight.size < this.config.poolSize) {
      const message = this.take();
      if (message === undefined) break;
      const delivery: Promise<void> = this.send(message).finally(() => {
        this.inFlight.delete(delivery);
        this.pump();
      });
      this.inFlight.add(delivery);
    }
    if (this.inFlight.size === 0 && this.waiting === 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private async send(message: Message): Promise<void> {
    // A delivery gets twice the per-step timeout in all, even against a server
    // that trickles its replies (which no socket timeout notices).
    const abort = new AbortController();
    const deadline = setTimeout(() => abort.abort(new Error('delivery timed out')), 2 * this.config.timeoutMs);
    this.aborts.add(abort);
    try {
      await this.transport.sendMail({
        to: message.to ?? '',
        subject: message.subject,
        text: message.text,
        headers: { 'Auto-Submitted': 'auto-generated', 'X-EOSC-Perf-Event': message.event },
        signal: abort.signal,
      });
    } catch (error) {
      this.logger.error({ ...about(message), err: describe(error) }, 'notification e-mail not sent');
    } finally {
      clearTimeout(deadline);
      this.aborts.delete(abort);
    }
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const drained = await this.idle(this.closeTimeoutMs);
    if (!drained) {
      const unsent: Message[] = [];
      for (let message = this.take(); message !== undefined; message = this.take()) unsent.push(message);
      const inFlight = this.inFlight.size;
      this.logger.error(
        { queued: unsent.length, inFlight, closeTimeoutMs: this.closeTimeoutMs },
        'mail queue not drained at shutdown: these notifications are lost',
      );
      for (const message of unsent) {
        this.logger.error(about(message), 'notification e-mail not sent: abandoned at shutdown');
      }
      // Each aborted delivery logs itself as not sent.
      for (const abort of this.aborts) abort.abort(new Error('shutting down'));
      await Promise.race([Promise.allSettled([...this.inFlight]), delay(250)]);
    }
    this.transport.close({ force: true });
  }

  /** Resolves true once nothing is queued or in flight, false after `ms`. */
  private idle(ms: number): Promise<boolean> {
    if (this.inFlight.size === 0 && this.waiting === 0 && !this.pumpScheduled) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((waiter) => waiter !== onIdle);
        resolve(false);
      }, ms);
      const onIdle = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idleWaiters.push(onIdle);
    });
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * The service's notifier. `config` is `loadConfig().mail`: undefined (no
 * MAIL_SERVER) logs every notification instead of sending it.
 */
export function createNotifier(config: MailConfig | undefined, logger: NotifierLogger, options: NotifierOptions = {}): Notifier {
  return config ? new SmtpNotifier(config, logger, options) : new LogNotifier(logger, {});
}
