import { createServer } from 'node:net';
import t from 'tap';
import { failed, ok, runCli, runInTerminal, twoMinutes } from '../helpers/cli.js';

// `dattss live`, run as the real binary against a running daemon's HTTP API.

t.test('live --once: the running daemon\'s current values and moving averages', async (t) => {
  const running = await twoMinutes(t);
  const httpPort = String(running.addresses.http?.port);
  let run = await runCli(t, ['live', '--once', '--http-port', httpPort]);
  ok(t, run, 'table');
  // The clock stands at 10:22:02: the current interval is empty and the moving averages cover 10:21.
  t.equal(
    run.stdout,
    [
      'name         type     tags      now (5 s)  1 min avg       p99       min       max  count (1 min)',
      'api.latency  timer                      -   1,500 ms  1,500 ms  1,500 ms  1,500 ms              1',
      'hits         counter  env:dev           0        0/s         -         -         -              0',
      'hits         counter  env:prod          0   0.0667/s         -         -         -              1',
      'queue        gauge                      1          1         -         1         1              1',
      'users        set                        0          1         -         -         -              1',
      '',
    ].join('\n'),
  );

  run = await runCli(t, ['live', 'HIT', '--json', '--url', `http://127.0.0.1:${httpPort}`]);
  ok(t, run, 'json, not a tty: one snapshot without --once');
  const direct = (await (await fetch(`http://127.0.0.1:${httpPort}/api/live?search=HIT`)).json()) as unknown;
  t.same(JSON.parse(run.stdout), direct, 'the JSON is the API answer');
  t.match(direct, { series: [{ name: 'hits' }, { name: 'hits' }] });

  run = await runCli(t, ['live', '--format', 'csv', '--type', 'counter', '--limit', '1'], { env: { DATTSS_HTTP_PORT: httpPort } });
  t.equal(run.status, 0, 'the port from DATTSS_HTTP_PORT');
  t.equal(run.stdout, 'name,type,tags,current,average,p99,min,max,count\nhits,counter,env:dev,0,0,,,,0\n');
  t.equal(run.stderr, 'dattss: more series match; raise --limit or narrow the glob\n');
});

t.test('live sends the token as a Bearer header', async (t) => {
  const token = 'a-token-of-24-characters';
  const running = await twoMinutes(t, { token });
  const httpPort = String(running.addresses.http?.port);
  failed(
    t,
    await runCli(t, ['live', '--http-port', httpPort]),
    1,
    /^dattss: the daemon at http:\/\/127\.0\.0\.1:\d+ answered 401: .* \[DATTSS_AUTH_FAILED\]\n$/,
    'no token',
  );
  let run = await runCli(t, ['live', 'queue', '--http-port', httpPort], { env: { DATTSS_TOKEN: token } });
  ok(t, run, 'DATTSS_TOKEN');
  t.match(run.stdout, /\nqueue +gauge +1 +1 /);
  run = await runCli(t, ['live', 'queue', '--http-port', httpPort, '--token', token]);
  ok(t, run, '--token');
});

t.test('live names an unreachable daemon', async (t) => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  failed(
    t,
    await runCli(t, ['live', '--http-port', String(port)]),
    1,
    `dattss: cannot reach the daemon at http://127.0.0.1:${port} (ECONNREFUSED) — is it running with its HTTP API on? [DATTSS_DAEMON_UNREACHABLE]`,
    'refused',
  );
  failed(t, await runCli(t, ['live', '--url', 'not a url']), 2, /^dattss: --url: expected an address like/, 'bad url');
  failed(t, await runCli(t, ['live', '--http-port', '70000']), 2, /^dattss: --http-port: expected an integer from 1 to 65535, got "70000"/, 'bad port');
});


t.test('live on a terminal redraws in place every --interval until Ctrl-C', async (t) => {
  const running = await twoMinutes(t);
  const terminal = runInTerminal(t, ['live', '--interval', '1', '--utc', '--http-port', String(running.addresses.http?.port)]);
  const redraws = (screen: string): number => screen.split('\x1b[H\x1b[2J').length - 1;
  await terminal.waitFor((screen) => redraws(screen) >= 2, 'a second redraw');
  // A ^C typed into the terminal is SIGINT for the CLI.
  terminal.type('\x03');
  t.equal(await terminal.exited, 0, 'Ctrl-C ends it with status 0');
  const screen = terminal.screen();
  const last = screen.slice(screen.lastIndexOf('\x1b[H\x1b[2J'));
  t.match(last, /^\x1b\[H\x1b\[2Jdattss live  2026-01-05T10:22:02Z  every 1 s, Ctrl-C to stop\r\n\r\nname +type +tags +now \(5 s\)/, 'a header with the daemon\'s time, then the table');
  t.match(last, /\r\nqueue +gauge +1 +1 +- +1 +1 +1\r\n/);
});
