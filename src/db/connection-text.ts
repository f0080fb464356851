// What may be said about a database connection in a message or a log line:
// its URL without credentials, and driver errors with the password cut out
// (a driver may echo the connection string it failed with).

/** The URL without password and query string (which may carry one too). */
export function redactUrl(url: URL): string {
  const copy = new URL(url.href);
  copy.password = '';
  copy.search = '';
  return copy.href;
}

/** A function that replaces `url`'s password, wherever it appears in a text, by "***". */
export function passwordScrubber(url: URL): (text: string) => string {
  const secret = safeDecode(url.password);
  return (text) => (secret === '' ? text : text.split(secret).join('***'));
}

/** A thrown value as one line: every cause of an AggregateError (a connection tried on IPv4 and IPv6). */
export function errorMessage(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    return err.errors.map(errorMessage).join('; ');
  }
  if (err instanceof Error) return err.message !== '' ? err.message : err.name;
  return String(err);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
