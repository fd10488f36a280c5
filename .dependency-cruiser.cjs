/**
 * The import rules of the architecture, checked by `npm run lint` (docs/architecture.md, "Folders
 * and what each may import", shows the same map; test/architecture.test.ts holds the two together
 * and plants a violation of each rule). Type-only imports count: a type is a dependency too.
 */

/** Each folder of proxy/ and the folders of proxy/ it may import; compare/ is open to all of them. */
const MAY_IMPORT = {
  http: [],
  telemetry: [],
  config: ['telemetry'],
  decision: ['config', 'store', 'telemetry'],
  backends: ['config', 'http', 'telemetry'],
  evidence: ['backends', 'decision', 'telemetry'],
  store: ['backends', 'config', 'decision', 'evidence', 'telemetry'],
  shadow: ['backends', 'config', 'decision', 'evidence', 'http', 'store', 'telemetry'],
  traffic: ['backends', 'config', 'decision', 'evidence', 'http', 'shadow', 'telemetry'],
  guard: ['config', 'decision', 'evidence', 'telemetry'],
  review: ['backends', 'config', 'decision', 'http', 'shadow', 'store', 'telemetry'],
  admin: ['config', 'decision', 'http', 'review', 'store', 'telemetry'],
  commands: ['config', 'decision', 'review', 'telemetry'],
};

const folderRules = Object.entries(MAY_IMPORT).map(([folder, allowed]) => ({
  name: `proxy-${folder}`,
  severity: 'error',
  comment: `proxy/${folder}/ may import ${allowed.length ? allowed.map((name) => `${name}/`).join(', ') : 'no other folder of the proxy'} (and compare/).`,
  from: { path: `^proxy/${folder}/` },
  to: { path: '^proxy/', pathNot: [`^proxy/${folder}/`, ...allowed.map((name) => `^proxy/${name}/`)] },
}));

module.exports = {
  forbidden: [
    { name: 'no-cycle', severity: 'error', comment: 'No import cycle anywhere: a cycle is two modules that cannot be read apart.', from: {}, to: { circular: true } },
    { name: 'compare-is-pure', severity: 'error', comment: 'compare/ is pure: no I/O, no clock, nothing of ours; it takes only what computes (hashing, decompression, parsing).', from: { path: '^compare/' }, to: { pathNot: ['^compare/', '^(node:)?(crypto|zlib)$', '^node_modules/(lossless-json|zod)/'] } },
    { name: 'services-stand-alone', severity: 'error', comment: 'new-services/ and legacy/ import nothing of the proxy: they are the systems it sits in front of.', from: { path: '^(new-services|legacy)/' }, to: { path: ['^proxy/', '^compare/', '^demo/'] } },
    { name: 'entry-points-on-top', severity: 'error', comment: 'server.ts, cli.ts and decide.ts are entry points: no folder of the proxy imports them.', from: { path: '^proxy/.+/' }, to: { path: '^proxy/[^/]+\\.ts$' } },
    ...folderRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
