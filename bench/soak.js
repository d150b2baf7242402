// Soak: minutes of steady load against one dattss — memory must stay flat and
// nothing may be lost. Samples RSS, and the main thread's heap in use, every
// 10 s while the sender runs, and reports the peak RSS the kernel saw (VmHWM),
// which falls between samples.
import { peakRssBytes, rssBytes, udpDrops } from './lib/proc.js';
import { buildSender, send } from './lib/sender.js';
import { startDattss } from './lib/targets.js';

export async function soak({ minutes, rate, perDatagram = 40, series = 10_000, daemonArgs = [] }) {
  const sender = buildSender();
  const target = await startDattss(daemonArgs);
  const samples = [];
  const timer = setInterval(() => {
    const sample = { atSec: samples.length * 10, rss: rssBytes(target.pid), heap: Number.NaN };
    samples.push(sample);
    target.heapUsed().then((bytes) => (sample.heap = bytes), () => {});
  }, 10_000);
  try {
    const dropsBefore = udpDrops(target.port);
    const sent = await send(sender, { port: target.port, lines: Math.round(rate * minutes * 60), perDatagram, series, rate, maxSeconds: minutes * 60 * 2 });
    clearInterval(timer);
    let received = -1;
    for (let stable = 0, last = -2; stable < 3; ) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      received = await target.received();
      stable = received === last ? stable + 1 : 0;
      last = received;
    }
    const drops = udpDrops(target.port) - dropsBefore;
    const peakRss = peakRssBytes(target.pid);
    console.log(`\nsoak: ${minutes} min at ${rate} lines/s, ${perDatagram} lines/datagram, ${series} series${daemonArgs.length > 0 ? `, dattss serve ${daemonArgs.join(' ')}` : ''}`);
    console.log(`sent ${sent.lines} lines, received ${received}, loss ${(((sent.lines - received) / sent.lines) * 100).toFixed(4)}%, kernel drops ${drops}`);
    const mib = (bytes) => (bytes / 2 ** 20).toFixed(1);
    const warm = samples.filter((s) => s.atSec >= 60);
    if (warm.length >= 2) {
      const rss = warm.map((s) => s.rss);
      console.log(`RSS after the first minute: first ${mib(rss[0])} MiB, last ${mib(rss.at(-1))} MiB, min ${mib(Math.min(...rss))}, max ${mib(Math.max(...rss))} MiB`);
    }
    console.log(`peak RSS (VmHWM) over the whole run: ${mib(peakRss)} MiB`);
    console.log(`RSS every 10 s (MiB): ${samples.map((s) => mib(s.rss)).join(' ')}`);
    console.log(`main thread's heap in use every 10 s (MiB): ${samples.map((s) => mib(s.heap)).join(' ')}`);
  } finally {
    clearInterval(timer);
    await target.stop();
    target.cleanup();
  }
}
