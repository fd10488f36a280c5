import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';

/**
 * The report page of the admin port: `GET /` is a small single-page app (hash routes, no server
 * routes) that reads the review API (`/api/groups`, `/api/fields`, `/api/diffs`) of the same port.
 *
 * Every asset is served here, nothing from a CDN:
 *  - `/assets/*.js|css`: the page's own files (proxy/review/page/), revalidated on every load
 *    (`no-cache` with an ETag: the admin port is near, and an edited file shows at once);
 *  - `/assets/vendor/<package>@<version>/…`: jsondiffpatch's ES modules and CSS, and the one
 *    module they import, straight from node_modules. The browser loads them natively through an
 *    import map, so no bundle is built; the version is in the URL, so they are cached as immutable.
 */

const PAGE_DIR = fileURLToPath(new URL('./page', import.meta.url));

interface Vendor { readonly name: string; readonly version: string; readonly dir: string; readonly url: string }

function vendorPackage(name: string, entry: string): Vendor {
  // The package's own directory, from its entry module: jsondiffpatch's `exports` do not list package.json.
  const dir = path.dirname(entry);
  const manifest = JSON.parse(readFileSync(path.join(packageRoot(dir), 'package.json'), 'utf8')) as { name: string; version: string };
  if (manifest.name !== name) throw new Error(`report page: expected package ${name}, found ${manifest.name} at ${dir}`);
  const slug = name.replace(/^@[^/]+\//, '');
  return { name, version: manifest.version, dir, url: `/assets/vendor/${slug}@${manifest.version}/` };
}

function packageRoot(dir: string): string {
  for (let current = dir; ; current = path.dirname(current)) {
    if (existsSync(path.join(current, 'package.json'))) return current;
    if (path.dirname(current) === current) throw new Error(`report page: no package.json above ${dir}`);
  }
}

function vendors(): { jsondiffpatch: Vendor; diffMatchPatch: Vendor } {
  const require = createRequire(import.meta.url);
  const jsondiffpatchEntry = require.resolve('jsondiffpatch');
  // Resolved from jsondiffpatch itself: the version it depends on, wherever npm put it.
  const diffMatchPatchEntry = createRequire(jsondiffpatchEntry).resolve('@dmsnell/diff-match-patch');
  return {
    jsondiffpatch: vendorPackage('jsondiffpatch', jsondiffpatchEntry),
    diffMatchPatch: vendorPackage('@dmsnell/diff-match-patch', diffMatchPatchEntry),
  };
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

/** Static files of one directory: only .js and .css, with an explicit type and cache policy. */
function assets(dir: string, cacheControl: string): express.RequestHandler {
  const files = express.static(dir, {
    index: false,
    redirect: false,
    fallthrough: true,
    cacheControl: false,
    setHeaders(res, file) {
      res.setHeader('content-type', TYPES[path.extname(file)] ?? 'application/octet-stream');
      res.setHeader('cache-control', cacheControl);
      res.setHeader('x-content-type-options', 'nosniff');
    },
  });
  return (req: Request, res: Response, next: NextFunction) => {
    if (!(path.extname(req.path) in TYPES) || req.path.endsWith('.d.ts')) return next();
    files(req, res, next);
  };
}

/** index.html with the import map written in, and the Content-Security-Policy that allows exactly that inline script. */
function indexPage(jsondiffpatch: Vendor, diffMatchPatch: Vendor): { html: string; etag: string; csp: string } {
  const importMap = JSON.stringify({
    imports: {
      'jsondiffpatch': `${jsondiffpatch.url}index.js`,
      'jsondiffpatch/with-text-diffs': `${jsondiffpatch.url}with-text-diffs.js`,
      'jsondiffpatch/formatters/html': `${jsondiffpatch.url}formatters/html.js`,
      '@dmsnell/diff-match-patch': `${diffMatchPatch.url}index.js`,
    },
  });
  const template = readFileSync(path.join(PAGE_DIR, 'index.html'), 'utf8');
  const html = template
    .replace('<!-- import map -->', `<script type="importmap">${importMap}</script>`)
    .replaceAll('{{jsondiffpatch}}', jsondiffpatch.url);
  if (html === template) throw new Error('report page: index.html has no "<!-- import map -->" marker');
  const scriptHash = createHash('sha256').update(importMap).digest('base64');
  const csp = [
    "default-src 'none'",
    `script-src 'self' 'sha256-${scriptHash}'`,
    "style-src 'self'",
    // jsondiffpatch draws the arrow of a moved array item with a style attribute.
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  const etag = `"${createHash('sha256').update(html).digest('base64url').slice(0, 27)}"`;
  return { html, etag, csp };
}

export function reportPage(): express.Router {
  const { jsondiffpatch, diffMatchPatch } = vendors();
  const index = indexPage(jsondiffpatch, diffMatchPatch);
  const router = express.Router();

  router.get('/', (req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.setHeader('cache-control', REVALIDATE);
    res.setHeader('etag', index.etag);
    res.setHeader('content-security-policy', index.csp);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    if (req.fresh) {
      res.status(304).end();
      return;
    }
    res.send(index.html);
  });
  router.use(jsondiffpatch.url, assets(jsondiffpatch.dir, IMMUTABLE));
  router.use(diffMatchPatch.url, assets(diffMatchPatch.dir, IMMUTABLE));
  const own = assets(PAGE_DIR, REVALIDATE);
  router.use('/assets/', (req, res, next) => {
    // The vendor prefix is never the page's own: a wrong version gives the 404 after this router.
    if (req.path.startsWith('/vendor/')) return next();
    own(req, res, next);
  });
  return router;
}
