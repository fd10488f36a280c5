/**
 * The import rules of the architecture (docs/architecture.md, "Folders"), checked by
 * `npm run lint`. Type-only imports count: a type is as much a dependency of the design.
 * Folder rules are written as "may not import", so that a new folder is free until it is placed.
 */
const proxyFolder = (name) => `^proxy/${name}/`;

module.exports = {
  forbidden: [
    { name: 'no-cycle', severity: 'error', comment: 'No import cycle anywhere: a cycle is two modules that cannot be read apart.', from: {}, to: { circular: true } },
    { name: 'compare-is-pure', severity: 'error', comment: 'compare/ is pure: no I/O, no clock, nothing of ours; it takes only what computes (hashing, decompression, parsing).', from: { path: '^compare/' }, to: { pathNot: ['^compare/', '^(node:)?(crypto|zlib)$', '^node_modules/(lossless-json|zod)/'] } },
    { name: 'services-stand-alone', severity: 'error', comment: 'new-services/ and legacy/ import nothing of the proxy: they are the systems it sits in front of.', from: { path: '^(new-services|legacy)/' }, to: { path: ['^proxy/', '^compare/', '^demo/'] } },
    { name: 'foundations-import-no-concern', severity: 'error', comment: 'http/ and telemetry/ are what every concern stands on; they import none.', from: { path: [proxyFolder('http'), proxyFolder('telemetry')] }, to: { path: '^proxy/', pathNot: ['^proxy/(http|telemetry)/'] } },
    { name: 'config-is-parsed-first', severity: 'error', comment: 'config/ parses what the operator wrote before anything runs; it knows no running part.', from: { path: proxyFolder('config') }, to: { path: '^proxy/', pathNot: ['^proxy/(config|http|telemetry)/'] } },
    { name: 'sides-know-no-path', severity: 'error', comment: 'backends/ are the two sides; the request path and the shadows use them, never the reverse.', from: { path: proxyFolder('backends') }, to: { path: ['^proxy/(traffic|shadow|evidence|store|review|admin|commands|decision)/', '^proxy/[^/]+\\.ts$'] } },
    { name: 'the-path-is-a-leaf', severity: 'error', comment: 'traffic/ is the request path; only the server assembles it.', from: { path: '^proxy/', pathNot: ['^proxy/traffic/', '^proxy/server\\.ts$'] }, to: { path: proxyFolder('traffic') } },
    { name: 'review-and-admin-on-top', severity: 'error', comment: 'The review API and the admin port read the rest; only the server and the CLI\'s commands import them.', from: { path: '^proxy/', pathNot: ['^proxy/(review|admin|commands)/', '^proxy/server\\.ts$'] }, to: { path: ['^proxy/(review|admin)/'] } },
    { name: 'commands-for-the-cli', severity: 'error', comment: 'commands/ are the CLI\'s; nothing else calls them.', from: { path: '^proxy/', pathNot: ['^proxy/commands/', '^proxy/cli\\.ts$'] }, to: { path: proxyFolder('commands') } },
    { name: 'entry-points-on-top', severity: 'error', comment: 'server.ts, cli.ts and decide.ts are entry points: no module of the proxy imports them but each other.', from: { path: '^proxy/.+/' }, to: { path: '^proxy/[^/]+\\.ts$' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
