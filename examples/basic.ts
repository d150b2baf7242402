// The client SDK in a few lines: DaTtSs values, typed helpers, tags, close().
// Run it against a daemon: `dattss serve` in one terminal, then
//   node examples/basic.ts            (Node ≥ 22.18; or: npx tsx examples/basic.ts)
// DATTSS_HOST and DATTSS_PORT choose the daemon (default 127.0.0.1:8125).
import { pathToFileURL } from 'node:url';
import { dattss, type ClientStats } from 'dattss/client';

export async function main(host: string, port: number, log: (...values: unknown[]) => void = console.log): Promise<ClientStats> {
  const dts = dattss({ host, port, prefix: 'example.', tags: { env: 'dev' }, onError: (error) => log(error.message) });

  dts.agg('requests', '1c');
  dts.agg('requests', '1c', { route: '/login' });
  dts.agg('db.query', '153ms');
  dts.agg('queue.depth', '23g');
  dts.agg('queue.depth', '+3g');
  dts.agg('users', 'user42s');

  dts.increment('requests', 2);
  dts.timing('db.query', 12.5);
  dts.gauge('temperature', -4.5);
  dts.set('users', 'user7');

  // close() sends what the 5-second interval holds so far.
  await dts.close();
  return dts.stats();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await main(process.env.DATTSS_HOST ?? '127.0.0.1', Number(process.env.DATTSS_PORT ?? 8125)));
}
