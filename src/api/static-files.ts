import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface StaticFile {
  body: Buffer;
  contentType: string;
  etag: string;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/**
 * The dashboard's files, read into memory once at start and served by exact
 * name. No request path ever reaches the filesystem, so there is nothing to
 * traverse; the set is a few small files, so memory is not a concern.
 * Keys are URL paths: `/` for index.html, `/assets/<file>` for the rest,
 * and uPlot's browser build (shipped as a dependency, no CDN).
 */
export function loadDashboardFiles(): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const dashboardDir = fileURLToPath(new URL('./dashboard/', import.meta.url));
  if (existsSync(dashboardDir)) {
    for (const entry of readdirSync(dashboardDir, { withFileTypes: true })) {
      const type = CONTENT_TYPES[extname(entry.name)];
      if (!entry.isFile() || type === undefined) continue;
      const file = staticFile(join(dashboardDir, entry.name), type);
      files.set(`/assets/${entry.name}`, file);
      if (entry.name === 'index.html') files.set('/', file);
    }
  }
  const require = createRequire(import.meta.url);
  files.set('/assets/uplot.min.js', staticFile(require.resolve('uplot/dist/uPlot.iife.min.js'), CONTENT_TYPES['.js'] as string));
  files.set('/assets/uplot.min.css', staticFile(require.resolve('uplot/dist/uPlot.min.css'), CONTENT_TYPES['.css'] as string));
  return files;
}

function staticFile(path: string, contentType: string): StaticFile {
  const body = readFileSync(path);
  return { body, contentType, etag: `"${createHash('sha1').update(body).digest('base64url')}"` };
}
