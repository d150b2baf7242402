// Plain statsd lines, for any statsd (Etsy, DogStatsD, dattss), batched into
// datagrams of at most `mtu` bytes.
//   node examples/lines-mode.ts      (Node ≥ 22.18; or: npx tsx examples/lines-mode.ts)
import { pathToFileURL } from 'node:url';
import { dattss, type ClientStats } from 'dattss/client';

export async function main(host: string, port: number, log: (...values: unknown[]) => void = console.log): Promise<ClientStats> {
  const dts = dattss({ host, port, mode: 'lines', mtu: 512, prefix: 'example.lines.', onError: (error) => log(error.message) });
  for (let i = 0; i < 100; i++) {
    dts.increment('hits');
    dts.timing('latency', 10 + (i % 7));
  }
  await dts.close();
  return dts.stats();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await main(process.env.DATTSS_HOST ?? '127.0.0.1', Number(process.env.DATTSS_PORT ?? 8125)));
}
