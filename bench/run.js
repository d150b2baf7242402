// `npm run bench` — the benchmark suite, end to end:
//   npm run bench                 full load suite (medians of 3 runs) + component benchmarks
//   npm run bench -- --quick      one run of two load shapes and the parser benchmark (< 2 min)
//   npm run bench -- --warm       every trial first sends each series one line (load on known
//                                 series, not a daemon creating them all in its first second)
//   npm run bench -- --sustained  every trial first runs its load for 3 s on series of its own,
//                                 uncounted, then as --warm: the daemon past its first seconds
//   npm run bench -- --shapes 40x100000,20x10000
//                                 only these shapes (lines per datagram x series), without components
//   npm run bench -- --receive-threads 1
//                                 also runs dattss with `--receive-threads 1` in each shape, as a
//                                 third target alternating with the other two
//   npm run bench -- --dgram      also runs dattss reading UDP with Node's dgram (`--udp-reader
//                                 dgram`) beside its default, the batch reader where it is built
//   npm run bench -- --ceiling    also runs bare receivers that only count lines, on Node's dgram
//                                 and on the batch reader: what reading the socket costs by itself
//   npm run bench -- soak [--minutes N] [--rate R] [--series K] [-- daemon flags...]
//                                 N minutes (default 10) of steady load over K series (default
//                                 10,000) against dattss: memory and loss; flags after a second
//                                 `--` go to `dattss serve` (e.g. --no-writer-thread)
// Prints a table; bench/README.md keeps the latest figures.
import { execFileSync } from 'node:child_process';
import { arch, cpus, platform } from 'node:os';
import { MAX_BACKLOG_SECONDS, maxRate, SUSTAIN_SECONDS } from './load.js';
import { buildSender } from './lib/sender.js';
import { soak } from './soak.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const warm = args.includes('--warm');
const sustained = args.includes('--sustained');
const shapesArg = args.includes('--shapes') ? args[args.indexOf('--shapes') + 1] : undefined;
const receiveThreads = args.includes('--receive-threads') ? Number(args[args.indexOf('--receive-threads') + 1]) : undefined;
const THREADED = `dattss+${receiveThreads}`;
const ceiling = args.includes('--ceiling');
const dgram = args.includes('--dgram');
const TARGETS = ['dattss', 'etsy', ...(receiveThreads === undefined ? [] : [THREADED]), ...(dgram ? ['dattss/dgram'] : []), ...(ceiling ? ['node', 'node/batch'] : [])];
const option = (name, fallback) => {
  const index = args.indexOf(name);
  return index === -1 ? fallback : Number(args[index + 1]);
};

const SHAPES = [
  { perDatagram: 1, series: 1_000, fromRate: 150_000, factor: 1.2 },
  { perDatagram: 20, series: 10_000, fromRate: 500_000, factor: 1.3 },
  { perDatagram: 40, series: 10_000, fromRate: 500_000, factor: 1.3 },
  { perDatagram: 40, series: 100_000, fromRate: 500_000, factor: 1.3 },
];

const median = (values) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor((sorted.length - 1) / 2)];
};
const millions = (n) => (Number.isFinite(n) ? `${(n / 1e6).toFixed(2)}M` : '—');
/** A median rate, `≥` when the median run lost nothing up to the ladder's top: the target may take more. */
const rateOf = (summary) => `${summary.atLadderTop ? '≥ ' : ''}${millions(summary.rate)}`;
const mib = (bytes) => (Number.isFinite(bytes) ? `${Math.round(bytes / 2 ** 20)} MiB` : '—');

function header() {
  console.log(`dattss bench — ${new Date().toISOString()} — Node ${process.version}, ${platform()} ${arch()}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`);
}

async function loadSuite() {
  const sender = buildSender();
  const chosen = shapesArg?.split(',').map((text) => {
    const [perDatagram, series] = text.split('x').map(Number);
    const shape = SHAPES.find((s) => s.perDatagram === perDatagram && s.series === series);
    if (shape === undefined) throw new Error(`--shapes: no shape ${text}; known: ${SHAPES.map((s) => `${s.perDatagram}x${s.series}`).join(', ')}`);
    return shape;
  });
  const shapes = chosen ?? (quick ? [SHAPES[0], SHAPES[2]] : SHAPES);
  const runs = quick ? 1 : 3;
  const seconds = quick ? 2 : 5;
  const rows = [];
  for (const shape of shapes) {
    const found = Object.fromEntries(TARGETS.map((target) => [target, []]));
    for (let run = 0; run < runs; run++) {
      // Alternating, so drift in the machine's load falls on all alike.
      for (const target of run % 2 === 0 ? TARGETS : [...TARGETS].reverse()) {
        const { best } = await maxRate(sender, {
          target,
          ...shape,
          seconds,
          maxSteps: quick ? 6 : 12,
          warm,
          sustained,
          log: (r) =>
            console.error(
              `  ${target} ${shape.perDatagram} lines/datagram, ${shape.series} series: ${millions(r.sentRate)} lines/s sent, loss ${(r.loss * 100).toFixed(3)}%, backlog ${r.backlogSeconds.toFixed(2)} s, kernel drops ${r.kernelDrops}${r.ownDrops === undefined || r.ownDrops === r.kernelDrops ? '' : ` (dattss counted ${r.ownDrops})`}${r.exact === undefined ? '' : `, rows exact: ${r.exact}`}`,
            ),
        });
        found[target].push(best);
      }
    }
    const summary = (list) => ({
      rate: median(list.map((r) => r?.sentRate ?? 0)),
      atLadderTop: list.filter((r) => r?.atLadderTop === true).length * 2 > list.length,
      cpu: median(list.map((r) => r?.cpuMicrosPerLine)),
      rss: median(list.map((r) => r?.peakRssBytes)),
      exact: list.every((r) => r === undefined || r.exact !== false),
    });
    rows.push({
      shape,
      dattss: summary(found.dattss),
      etsy: summary(found.etsy),
      threaded: receiveThreads === undefined ? undefined : summary(found[THREADED]),
      dgram: dgram ? summary(found['dattss/dgram']) : undefined,
      node: ceiling ? summary(found.node) : undefined,
      nodeBatch: ceiling ? summary(found['node/batch']) : undefined,
    });
  }
  console.log(
    `\nMax rate at < 0.1% loss with the daemon caught up within ${MAX_BACKLOG_SECONDS} s of the load when the sender stopped (medians; ≥ where the median run lost nothing up to the ladder's top), CPU per line and peak RSS at that rate${sustained ? `, each trial after ${SUSTAIN_SECONDS} s of its load on other series and with its series known (--sustained)` : warm ? ', series known before each trial (--warm)' : ''}:\n`,
  );
  console.log('| lines/datagram | series | dattss lines/s | Etsy lines/s | ratio | dattss µs CPU/line | Etsy µs CPU/line | dattss peak RSS | Etsy peak RSS | rows exact |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const { shape, dattss, etsy } of rows) {
    const ratio = etsy.rate > 0 ? `${(dattss.rate / etsy.rate).toFixed(2)}×` : '—';
    console.log(
      `| ${shape.perDatagram} | ${shape.series} | ${rateOf(dattss)} | ${rateOf(etsy)} | ${ratio} | ${dattss.cpu.toFixed(2)} | ${etsy.cpu.toFixed(2)} | ${mib(dattss.rss)} | ${mib(etsy.rss)} | ${dattss.exact ? 'yes' : 'NO'} |`,
    );
  }
  if (dgram) {
    console.log("\nThe same, dattss reading UDP with Node's dgram (--udp-reader dgram) beside its default (the batch reader where built):\n");
    console.log('| lines/datagram | series | default lines/s | dgram lines/s | default / dgram | default µs CPU/line | dgram µs CPU/line | rows exact |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const { shape, dattss, dgram: viaDgram } of rows) {
      const ratio = viaDgram.rate > 0 ? `${(dattss.rate / viaDgram.rate).toFixed(2)}×` : '—';
      console.log(
        `| ${shape.perDatagram} | ${shape.series} | ${rateOf(dattss)} | ${rateOf(viaDgram)} | ${ratio} | ${dattss.cpu.toFixed(2)} | ${viaDgram.cpu.toFixed(2)} | ${viaDgram.exact ? 'yes' : 'NO'} |`,
      );
    }
  }
  if (ceiling) {
    console.log("\nThe ceiling: bare receivers that count lines and do nothing else (bench/lib/bare-receiver.js), on Node's dgram and on the batch reader:\n");
    console.log('| lines/datagram | series | bare dgram lines/s | bare batch lines/s | dattss lines/s | dattss / bare batch | µs CPU/line bare dgram / bare batch / dattss |');
    console.log('|---|---|---|---|---|---|---|');
    for (const { shape, dattss, node, nodeBatch } of rows) {
      const ratio = nodeBatch.rate > 0 ? `${nodeBatch.atLadderTop ? '≤ ' : ''}${(dattss.rate / nodeBatch.rate).toFixed(2)}` : '—';
      console.log(
        `| ${shape.perDatagram} | ${shape.series} | ${rateOf(node)} | ${rateOf(nodeBatch)} | ${rateOf(dattss)} | ${ratio} | ${node.cpu.toFixed(2)} / ${nodeBatch.cpu.toFixed(2)} / ${dattss.cpu.toFixed(2)} |`,
      );
    }
  }
  if (receiveThreads === undefined) return;
  console.log(`\nThe same, dattss with --receive-threads ${receiveThreads} beside dattss as it is by default (threads judged by loss alone: they hold lines until a hand-over, which the backlog cannot tell apart):\n`);
  console.log('| lines/datagram | series | threaded lines/s | default lines/s | ratio | threaded µs CPU/line | default µs CPU/line | threaded peak RSS | rows exact |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const { shape, dattss, threaded } of rows) {
    const ratio = dattss.rate > 0 ? `${(threaded.rate / dattss.rate).toFixed(2)}×` : '—';
    console.log(
      `| ${shape.perDatagram} | ${shape.series} | ${rateOf(threaded)} | ${rateOf(dattss)} | ${ratio} | ${threaded.cpu.toFixed(2)} | ${dattss.cpu.toFixed(2)} | ${mib(threaded.rss)} | ${threaded.exact ? 'yes' : 'NO'} |`,
    );
  }
}

function components() {
  const bench = (script, scriptArgs = [], nodeArgs = []) => {
    console.log(`\n$ node ${[...nodeArgs, `bench/${script}`, ...scriptArgs].join(' ')}`);
    execFileSync(process.execPath, [...nodeArgs, new URL(script, import.meta.url).pathname, ...scriptArgs], { stdio: 'inherit' });
  };
  bench('parser-registry.js');
  if (quick) return;
  for (const series of ['1000', '10000', '100000']) bench('store-flush.js', [series, '3']);
  // A database with history, where each series' rows have pages of their own; at 100k series it
  // needs 4 GB of temp space and 3 minutes, so the suite runs it at 10k (bench/README.md has both).
  bench('store-flush.js', ['10000', '3', 'aged']);
  for (const series of ['10000', '100000']) bench('flush-stall.js', [series, '3']);
  bench('series-memory.js', ['100000'], ['--expose-gc']);
}

header();
if (args[0] === 'soak') {
  const daemonArgs = args.indexOf('--') === -1 ? [] : args.slice(args.indexOf('--') + 1);
  await soak({ minutes: option('--minutes', 10), rate: option('--rate', 100_000), series: option('--series', 10_000), daemonArgs });
} else {
  await loadSuite();
  if (shapesArg === undefined) components();
}
