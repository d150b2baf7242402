// Timing code with time(): sync and async functions, errors passed through
// unchanged, and what stats() tells about refused samples.
//   node examples/timing.ts          (Node ≥ 22.18; or: npx tsx examples/timing.ts)
import { pathToFileURL } from 'node:url';
import { dattss, type ClientStats } from 'dattss/client';

export async function main(host: string, port: number, log: (...values: unknown[]) => void = console.log): Promise<ClientStats> {
  const refused: string[] = [];
  const dts = dattss({ host, port, prefix: 'example.', onError: (error) => refused.push(`${error.code}: ${error.message}`) });

  const sum = dts.time('compute', () => Array.from({ length: 1000 }, (_, i) => i).reduce((a, b) => a + b, 0));
  const text = await dts.time('fetch', async () => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    return `sum is ${sum}`;
  });
  try {
    await dts.time('fail', async () => {
      throw new Error('the database is down');
    });
  } catch (error) {
    log('time() rethrew:', (error as Error).message);
  }

  dts.agg('requests', '12'); // no unit: refused, reported, never thrown
  await dts.close();
  log(text, refused);
  return dts.stats();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await main(process.env.DATTSS_HOST ?? '127.0.0.1', Number(process.env.DATTSS_PORT ?? 8125)));
}
