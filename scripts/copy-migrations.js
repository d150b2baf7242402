// tsc compiles only TypeScript; the store reads its .sql migrations from
// next to its compiled module, so the build copies them into dist/.
import { cpSync } from 'node:fs';

cpSync(new URL('../src/store/migrations/', import.meta.url), new URL('../dist/store/migrations/', import.meta.url), {
  recursive: true,
});
