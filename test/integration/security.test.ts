import { connect } from 'node:net';
import t from 'tap';
import { FakeClock } from '../helpers/fake-clock.js';
import { startDaemon } from '../helpers/daemon.js';

const START_MS = Date.UTC(2026, 0, 5, 10, 20, 2);
const TOKEN = 'test-token-0123456789abcdef';

/** Writes `input` to the admin port and resolves with everything received until the server closes or `until` matches. */
function adminSession(port: number, input: string, until: RegExp): Promise<{ reply: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(input));
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (until.test(reply)) {
        socket.destroy();
        resolve({ reply, closedByServer: false });
      }
    });
    socket.on('end', () => resolve({ reply, closedByServer: true }));
    socket.on('error', reject);
  });
}

t.test('with a token, /api/* and /metrics need Authorization: Bearer; the page and ingest do not', async (t) => {
  const running = await startDaemon(t, new FakeClock(START_MS), { token: TOKEN });
  const base = `http://127.0.0.1:${running.addresses.http?.port}`;
  for (const path of ['/api/series', '/api/health', '/metrics']) {
    const anonymous = await fetch(base + path);
    t.equal(anonymous.status, 401, `${path} without a token`);
    t.equal(anonymous.headers.get('www-authenticate'), 'Bearer realm="dattss"');
    t.match(await anonymous.json(), { error: { code: 'DATTSS_AUTH_FAILED' } });
    t.equal((await fetch(base + path, { headers: { authorization: `Bearer ${TOKEN}x` } })).status, 401, `${path} with a wrong token`);
    t.equal((await fetch(base + path, { headers: { authorization: TOKEN } })).status, 401, `${path} without the Bearer scheme`);
    t.equal((await fetch(base + path, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200, `${path} with the token`);
  }
  t.equal((await fetch(`${base}/assets/uplot.min.js`)).status, 200, 'static files are public');
  const push = await fetch(`${base}/agg`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"prt":{"c":[{"pth":"hits","sum":1,"cnt":1}]}}' });
  t.equal(push.status, 200, 'ingest has its own keys, not the token');
});

t.test('with a token, the admin interface wants auth first and allows one guess', async (t) => {
  const running = await startDaemon(t, new FakeClock(START_MS), { token: TOKEN, dattssAuthKeys: ['0_dattss_key'] });
  const port = running.addresses.admin?.port as number;
  const before = await adminSession(port, 'stats\n', /\n$/);
  t.equal(before.reply, 'ERROR auth required: send "auth <token>" first\n');
  const wrong = await adminSession(port, 'auth nope\nstats\n', /END/);
  t.same(wrong, { reply: 'ERROR bad token\n', closedByServer: true }, 'a wrong token closes the connection; later commands are not run');
  const right = await adminSession(port, `auth ${TOKEN}\nstats\n`, /END\n\n$/);
  t.match(right.reply, /^OK\nuptime: \d+\n[\s\S]*END\n\n$/);
  const config = await adminSession(port, `auth ${TOKEN}\nconfig\n`, /maxSeries: \d+\n[\s\S]*badLineLogsPerMinute: \d+\n$/);
  t.match(config.reply, '\ntoken: (hidden)\n');
  t.match(config.reply, '\ndattssAuthKeys: (hidden)\n');
  t.notMatch(config.reply, TOKEN);
  t.notMatch(config.reply, '0_dattss_key');
});

t.test('without a token nothing is asked, and empty secrets show as empty', async (t) => {
  const running = await startDaemon(t, new FakeClock(START_MS));
  const config = await adminSession(running.addresses.admin?.port as number, 'config\n', /badLineLogsPerMinute: \d+\n$/);
  t.match(config.reply, '\ntoken: \n');
  t.equal((await fetch(`http://127.0.0.1:${running.addresses.http?.port}/api/health`)).status, 200);
});
