// tsc compiles only TypeScript. The store reads its .sql migrations and the
// HTTP server its dashboard files from next to their compiled modules, so the
// build copies both into dist/.
import { cpSync, existsSync } from 'node:fs';

for (const dir of ['store/migrations/', 'api/dashboard/']) {
  const from = new URL(`../src/${dir}`, import.meta.url);
  if (existsSync(from)) cpSync(from, new URL(`../dist/${dir}`, import.meta.url), { recursive: true });
}
