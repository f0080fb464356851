// SMTP servers on 127.0.0.1 for the notification tests: one (smtp-server)
// that records what it receives and can refuse RCPT or DATA or require AUTH,
// and a raw TCP one that accepts connections and never says a word. Both count
// TCP connections, open now and at most at once.
import net from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface ReceivedMail {
  envelope: { from: string; to: string[] };
  /** Unfolded, RFC 2047-decoded header values by lower-case name (the last one wins). */
  headers: Map<string, string>;
  subject: string;
  /** The decoded text body, line breaks as \n. */
  text: string;
  /** Whether the session was TLS (implicit or STARTTLS) when the message came. */
  secure: boolean;
  /** The user name the session authenticated as, if any. */
  user?: string;
}

export interface ConnectionCounter {
  /** Connections accepted so far. */
  readonly total: number;
  /** Connections open now. */
  readonly open: number;
  /** Most connections open at once. */
  readonly maxOpen: number;
}

export interface TestSmtpServer extends ConnectionCounter {
  port: number;
  messages: ReceivedMail[];
  /** Resolves once `count` messages were received; rejects after `timeoutMs`. */
  waitForMessages(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface SmtpServerBehaviour {
  /** Answer RCPT TO with 550 (for these addresses, or every one). */
  rejectRcpt?: boolean | ((address: string) => boolean);
  /** Answer the end of DATA with 554. */
  rejectData?: boolean;
  /** Offer STARTTLS (with smtp-server's self-signed localhost certificate) and require AUTH with these. */
  auth?: { user: string; pass: string };
  /** Delay before accepting each message, ms (keeps connections busy). */
  dataDelayMs?: number;
}

/** `target` with live connection counts of `server` (total, open, most open at once) as getters. */
function withConnectionCounts<T extends object>(server: net.Server, target: T): T & ConnectionCounter {
  const state = { total: 0, open: 0, maxOpen: 0 };
  server.on('connection', (socket: net.Socket) => {
    state.total += 1;
    state.open += 1;
    state.maxOpen = Math.max(state.maxOpen, state.open);
    socket.once('close', () => {
      state.open -= 1;
    });
  });
  return Object.defineProperties(target, {
    total: { get: () => state.total, enumerable: true },
    open: { get: () => state.open, enumerable: true },
    maxOpen: { get: () => state.maxOpen, enumerable: true },
  }) as T & ConnectionCounter;
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

// --- a minimal parser for what nodemailer writes: one text/plain part ---

function decodeQuotedPrintable(value: string): Buffer {
  const soft = value.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < soft.length; i++) {
    const hex = soft.slice(i + 1, i + 3);
    if (soft[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(soft.charCodeAt(i));
    }
  }
  return Buffer.from(bytes);
}

/** RFC 2047 encoded words (UTF-8, B or Q), as nodemailer writes them. */
function decodeWords(value: string): string {
  return value
    .replace(/(=\?[^?]+\?[BbQq]\?[^?]*\?=)\s+(?==\?)/g, '$1')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_match, _charset: string, encoding: string, data: string) =>
      encoding.toUpperCase() === 'B'
        ? Buffer.from(data, 'base64').toString('utf8')
        : decodeQuotedPrintable(data.replace(/_/g, ' ')).toString('utf8'),
    );
}

export function parseMessage(raw: string): { headers: Map<string, string>; text: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = split === -1 ? raw : raw.slice(0, split);
  const body = split === -1 ? '' : raw.slice(split + 4);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), decodeWords(line.slice(colon + 1).trim()));
  }
  const encoding = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  const decoded =
    encoding === 'base64'
      ? Buffer.from(body.replace(/\s+/g, ''), 'base64')
      : encoding === 'quoted-printable'
        ? decodeQuotedPrintable(body)
        : Buffer.from(body, 'utf8');
  return { headers, text: decoded.toString('utf8').replace(/\r\n/g, '\n') };
}

export async function startSmtpServer(behaviour: SmtpServerBehaviour = {}): Promise<TestSmtpServer> {
  const messages: ReceivedMail[] = [];
  let waiters: { count: number; resolve: () => void }[] = [];
  const refuses = (address: string): boolean =>
    typeof behaviour.rejectRcpt === 'function' ? behaviour.rejectRcpt(address) : behaviour.rejectRcpt === true;

  const options: SMTPServerOptions = {
    logger: false,
    disableReverseLookup: true,
    // Connections a test leaves open do not hold close() for the default 30 s.
    closeTimeout: 500,
    ...(behaviour.auth
      ? {
          onAuth(auth, _session, callback) {
            if (auth.username === behaviour.auth?.user && auth.password === behaviour.auth?.pass) {
              callback(null, { user: auth.username });
            } else {
              callback(new Error('Invalid username or password'));
            }
          },
        }
      : { disabledCommands: ['STARTTLS', 'AUTH'], authOptional: true }),
    onRcptTo(address, _session, callback) {
      if (refuses(address.address)) {
        callback(Object.assign(new Error(`mailbox ${address.address} unavailable`), { responseCode: 550 }));
      } else {
        callback();
      }
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const finish = (): void => {
          if (behaviour.rejectData) {
            callback(Object.assign(new Error('message refused'), { responseCode: 554 }));
            return;
          }
          const { headers, text } = parseMessage(Buffer.concat(chunks).toString('utf8'));
          const from = session.envelope.mailFrom;
          messages.push({
            envelope: { from: from ? from.address : '', to: session.envelope.rcptTo.map((rcpt) => rcpt.address) },
            headers,
            subject: headers.get('subject') ?? '',
            text,
            secure: session.secure,
            ...(typeof session.user === 'string' ? { user: session.user } : {}),
          });
          waiters = waiters.filter((waiter) => {
            if (messages.length < waiter.count) return true;
            waiter.resolve();
            return false;
          });
          callback();
        };
        if (behaviour.dataDelayMs) setTimeout(finish, behaviour.dataDelayMs);
        else finish();
      });
    },
  };
  const smtp = new SMTPServer(options);
  const port = await listen(smtp.server);

  return withConnectionCounts<Omit<TestSmtpServer, keyof ConnectionCounter>>(smtp.server, {
    port,
    messages,
    waitForMessages(count, timeoutMs = 5000) {
      if (messages.length >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`received ${messages.length} of ${count} messages in ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        smtp.close(() => resolve());
      }),
  });
}

export interface HangingServer extends ConnectionCounter {
  port: number;
  close(): Promise<void>;
}

/** Accepts TCP connections and never answers: no greeting, nothing. */
export async function startHangingServer(): Promise<HangingServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
  });
  const port = await listen(server);
  return withConnectionCounts<Omit<HangingServer, keyof ConnectionCounter>>(server, {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  });
}
