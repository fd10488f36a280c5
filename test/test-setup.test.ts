import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * `npm test`'s pretest (scripts/test-setup.js) on a machine that lacks what the tests drive. PATH
 * is a folder of the test's own, so "installed" means a stub there, and apt-get is a stub that
 * records its calls and "installs" stubs.
 */
describe('npm test on a fresh machine (scripts/test-setup.js)', function () {
  let bin: string;
  before(() => { bin = mkdtempSync(path.join(tmpdir(), 'cutover-test-setup-')); });
  after(() => rmSync(bin, { recursive: true, force: true }));

  const stub = (name: string, body = 'exit 0') => {
    writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(path.join(bin, name), 0o755);
  };
  const setup = () => spawnSync(process.execPath, ['scripts/test-setup.js'], { encoding: 'utf8', env: { PATH: bin }, timeout: 20_000 });

  it('is what npm test runs first', () => {
    const scripts = JSON.parse(readFileSync('package.json', 'utf8')).scripts as Record<string, string>;
    assert.equal(scripts.pretest, 'node scripts/test-setup.js');
    assert.match(readFileSync('.ci/run', 'utf8'), /^npm test$/m);
    assert.doesNotMatch(readFileSync('.ci/run', 'utf8'), /apt-get/, 'one place installs: the pretest');
  });

  it('says in one line what to run when a program is missing and apt-get cannot be used, exit 1', () => {
    stub('openssl'); stub('promtool');
    const run = setup();
    assert.equal(run.status, 1);
    assert.equal(run.stderr, 'npm test needs chromium (the report page is tested in it), prometheus (the dashboards\' queries run on it): '
      + 'on Debian, run as root: apt-get update && apt-get install -y chromium && apt-get install -y --no-install-recommends prometheus\n');
  });

  it('as root, installs what is missing with apt-get, prometheus without starting its service; quiet when all is there', () => {
    const calls = path.join(bin, 'calls');
    // The stub apt-get "installs" a package by putting its programs on PATH, and notes whether
    // apt would have been told not to start services.
    stub('apt-get', `echo "$* policy:$(test -x /usr/sbin/policy-rc.d && /usr/sbin/policy-rc.d; echo $?)" >> ${calls}
for name in "$@"; do case $name in
  chromium) printf '#!/bin/sh\\n' > ${bin}/chromium; /bin/chmod +x ${bin}/chromium;;
  prometheus) for p in prometheus promtool; do printf '#!/bin/sh\\n' > ${bin}/$p; /bin/chmod +x ${bin}/$p; done;;
esac; done`);
    const policyBefore = existsSync('/usr/sbin/policy-rc.d');
    const run = setup();
    if (process.getuid?.() !== 0) {
      assert.equal(run.status, 1, 'not root: it says what to run instead');
      assert.match(run.stderr, /run as root: apt-get update/);
      return;
    }
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr, 'test setup: installing chromium prometheus with apt-get, for chromium (the report page is tested in it), prometheus (the dashboards\' queries run on it)\n');
    assert.deepEqual(readFileSync(calls, 'utf8').trim().split('\n'), [
      'update -qq policy:101',
      'install -y chromium -qq policy:101',
      'install -y --no-install-recommends prometheus -qq policy:101',
    ]);
    assert.equal(existsSync('/usr/sbin/policy-rc.d'), policyBefore, 'a policy-rc.d it wrote is removed');

    const again = setup();
    assert.deepEqual([again.status, again.stderr], [0, '']);
  });
});
