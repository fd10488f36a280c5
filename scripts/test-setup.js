#!/usr/bin/env node
// `npm test`'s pretest, and so .ci/run's too: the programs the tests drive, besides Node. On
// Debian as root, what is missing is installed with apt-get; anywhere else, one line says what to
// run. The tests themselves never skip for a missing program: they fail naming its package.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';

/**
 * Each program a test runs, and the Debian package that has it. Prometheus comes without its
 * recommended packages, which are exporters with services of their own; Chromium with its fonts.
 */
const NEEDED = [
  { program: 'chromium', package: 'chromium', why: 'the report page is tested in it' },
  { program: 'prometheus', package: 'prometheus', why: 'the dashboards\' queries run on it', bare: true },
  { program: 'promtool', package: 'prometheus', why: 'the alert rules are tested with it', bare: true },
  { program: 'openssl', package: 'openssl', why: 'the https test makes a certificate with it' },
];

function onPath(program) {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      accessSync(path.join(dir, program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const missing = () => NEEDED.filter((need) => !onPath(need.program));

const absent = missing();
if (absent.length === 0) process.exit(0);

const packagesOf = (needs) => [...new Set(needs.map((need) => need.package))];
const packages = packagesOf(absent);
const programs = absent.map((need) => `${need.program} (${need.why})`).join(', ');
/** apt-get install's arguments, one list per kind of install. */
const installs = [absent.filter((need) => !need.bare), absent.filter((need) => need.bare)]
  .filter((needs) => needs.length > 0)
  .map((needs) => ['install', '-y', ...(needs[0].bare ? ['--no-install-recommends'] : []), ...packagesOf(needs)]);
const command = ['apt-get update', ...installs.map((args) => `apt-get ${args.join(' ')}`)].join(' && ');

if (process.getuid?.() !== 0 || !onPath('apt-get')) {
  process.stderr.write(`npm test needs ${programs}: on Debian, run as root: ${command}\n`);
  process.exit(1);
}

process.stderr.write(`test setup: installing ${packages.join(' ')} with apt-get, for ${programs}\n`);
// Installing Debian's prometheus would start its service; a policy-rc.d that answers 101 tells
// apt not to start any (the tests start Prometheus themselves). Only one we wrote is removed.
const policy = '/usr/sbin/policy-rc.d';
let wrotePolicy = false;
try {
  accessSync(policy);
} catch {
  writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  wrotePolicy = true;
}
try {
  const quiet = { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } };
  execFileSync('apt-get', ['update', '-qq'], quiet);
  for (const args of installs) execFileSync('apt-get', [...args, '-qq'], quiet);
} finally {
  if (wrotePolicy) rmSync(policy, { force: true });
}

const still = missing();
if (still.length > 0) {
  process.stderr.write(`npm test needs ${still.map((need) => need.program).join(', ')}, still missing after apt-get install ${packages.join(' ')}\n`);
  process.exit(1);
}
