// Downloads (src/http/download.ts): a client that stops reading but keeps its
// connection does not hold what produces the download forever.
import t from 'tap';
import { streamOf } from '../src/http/download.js';

t.test('a download nobody reads is destroyed after the stall time, and its source cleaned up', async (t) => {
  let cleaned = false;
  async function* source(): AsyncGenerator<Buffer> {
    try {
      for (;;) yield Buffer.alloc(64 * 1024);
    } finally {
      cleaned = true;
    }
  }
  const body = streamOf(source(), 100);
  body.pause();
  body.read(0); // starts it: the buffer fills, then nothing is read
  let giveUp: NodeJS.Timeout | undefined;
  const closed = await new Promise<boolean>((resolve) => {
    body.once('close', () => resolve(true));
    giveUp = setTimeout(() => resolve(false), 5000);
  });
  clearTimeout(giveUp);
  t.ok(closed, 'destroyed once stalled');
  t.ok(body.destroyed);
  await new Promise((resolve) => setImmediate(resolve));
  t.ok(cleaned, "the source's cleanup ran");
});

t.test('a download read to its end is not cut', async (t) => {
  async function* source(): AsyncGenerator<Buffer> {
    for (let i = 0; i < 5; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      yield Buffer.from(`${i}`);
    }
  }
  const chunks: string[] = [];
  for await (const chunk of streamOf(source(), 1000)) chunks.push(String(chunk));
  t.equal(chunks.join(''), '01234');
});
