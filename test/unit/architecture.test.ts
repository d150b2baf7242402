import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import t from 'tap';

// DESIGN.md's one-way dependency rules, read from the import statements.
const SRC = new URL('../../src/', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

const files = sourceFiles(SRC).map((path) => {
  const text = readFileSync(path, 'utf8');
  const imports = [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1] as string);
  const file = relative(SRC, path);
  // Resolve relative imports to src-relative paths, leave packages as they are.
  const resolved = imports.map((spec) => (spec.startsWith('.') ? relative(SRC, join(SRC, file, '..', spec)).replace(/\.js$/, '.ts') : spec));
  return { file, text, imports: resolved };
});

t.ok(files.length > 10, 'found the sources');
t.ok(files.find((f) => f.file === 'daemon.ts')?.imports.includes('ingest/parser.ts'), 'resolves relative imports');

t.test('protocol/ imports nothing but itself', async (t) => {
  for (const { file, imports } of files.filter((f) => f.file.startsWith('protocol/'))) {
    t.same(imports.filter((spec) => !spec.startsWith('protocol/')), [], file);
  }
});

t.test('the parser and aggregate/ are pure: no node:*, no logger, no timers, no clock', async (t) => {
  const pure = files.filter((f) => f.file.startsWith('aggregate/') || f.file === 'ingest/parser.ts' || f.file === 'ingest/number.ts');
  t.ok(pure.length >= 7);
  for (const { file, imports, text } of pure) {
    t.same(imports.filter((spec) => spec.startsWith('node:') || spec === 'pino' || spec === 'log.ts'), [], `${file} imports`);
    t.notMatch(text, /\b(setTimeout|setInterval|setImmediate|Date\.now|performance\.now)\b/, `${file} reads no time`);
  }
});

t.test('flush/ knows the store only through an interface; store/ never imports ingest/', async (t) => {
  for (const { file, imports } of files.filter((f) => f.file.startsWith('flush/'))) {
    t.same(imports.filter((spec) => spec.startsWith('store/')), [], file);
  }
  for (const { file, imports } of files.filter((f) => f.file.startsWith('store/'))) {
    t.same(imports.filter((spec) => spec.startsWith('ingest/')), [], file);
  }
});

t.test('only cli/main.ts exits the process or installs signal handlers', async (t) => {
  for (const { file, text } of files.filter((f) => f.file !== 'cli/main.ts')) {
    t.notMatch(text, /process\.exit\(|process\.on\(\s*'SIG/, file);
  }
});

t.test('time is injected: only flush/clock.ts and the client SDK\'s client/clock.ts read the wall clock', async (t) => {
  for (const { file, text } of files.filter((f) => f.file !== 'flush/clock.ts' && f.file !== 'client/clock.ts')) {
    t.notMatch(text, /Date\.now\(\)/, file);
  }
});

t.test('client/ never imports the daemon: only protocol/, the pure partials of aggregate/, errors.ts and node:*', async (t) => {
  const shared = ['aggregate/interval-buffer.ts', 'aggregate/partial.ts', 'aggregate/partial-figures.ts', 'aggregate/sketch.ts', 'errors.ts'];
  const client = files.filter((f) => f.file.startsWith('client/'));
  t.ok(client.length >= 5, 'found the client');
  for (const { file, imports } of client) {
    const foreign = imports.filter((spec) => !spec.startsWith('client/') && !spec.startsWith('protocol/') && !spec.startsWith('node:') && !shared.includes(spec));
    t.same(foreign, [], file);
  }
  // What the client reaches through the shared modules must not lead back into the daemon either.
  for (const { file, imports } of files.filter((f) => shared.includes(f.file))) {
    const foreign = imports.filter((spec) => spec.startsWith('.') || (spec.includes('/') && !spec.startsWith('protocol/') && !spec.startsWith('@datadog/') && !shared.includes(spec)));
    t.same(foreign, [], file);
  }
});
