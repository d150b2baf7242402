import { Writable } from 'node:stream';
import t from 'tap';
import { pino } from 'pino';
import { BadLineLog } from '../../src/ingest/bad-line-log.js';

t.test('bad lines are logged at most N per minute, the rest summed up at rollover', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const log = new BadLineLog(pino({ level: 'info' }, stream), 3);
  const buf = Buffer.from(`bad one\n${'x'.repeat(300)}`);
  for (let i = 0; i < 5; i++) log.report('missing_value', buf, 0, 7);
  log.report('missing_value', buf, 8, buf.length);
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(lines.length, 3, 'three logged');
  t.match(lines[0], { level: 40, msg: 'bad line', reason: 'missing_value', line: 'bad one', truncated: false });
  log.rollover();
  log.report('bad_value', buf, 8, buf.length);
  await new Promise((resolve) => setImmediate(resolve));
  t.match(lines[3], { msg: 'bad lines not logged (rate limit)', suppressed: 3 });
  t.match(lines[4], { reason: 'bad_value', truncated: true }, 'a new budget after rollover');
  t.equal((lines[4]?.line as string).length, 200, 'long lines are quoted up to 200 bytes');
  log.rollover();
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(lines.length, 5, 'nothing to say when nothing was suppressed');
});
