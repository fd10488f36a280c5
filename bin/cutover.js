#!/usr/bin/env node
// `npx cutover`: runs the TypeScript sources through tsx, the same code `npm start` runs, so an
// edited file takes effect on the next start without a build step.
import { register } from 'tsx/esm/api';

register();
await import('../proxy/cli.ts');
