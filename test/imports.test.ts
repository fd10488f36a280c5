import assert from 'node:assert/strict';
import { ESLint } from 'eslint';

describe('the lint rules on imports', function () {
  this.timeout(30_000);

  it('refuse a deep import of an AWS SDK package\'s internals, and let what a package exports by name pass', async () => {
    const eslint = new ESLint();
    const problems = async (code: string) => (await eslint.lintText(code, { filePath: 'proxy/backends/probe.ts' }))
      .flatMap((result) => result.messages).filter((message) => message.ruleId === 'no-restricted-imports').length;
    for (const deep of [
      '@aws-sdk/client-lambda/dist-es/commands/InvokeCommand.js',
      '@aws-sdk/client-lambda/dist-cjs/index.js',
      '@smithy/core/dist-cjs/submodules/schema/index.js',
      '@smithy/signature-v4/dist-es/SignatureV4.js',
    ]) assert.equal(await problems(`import { x } from '${deep}';\nexport const y = x;\n`), 1, deep);
    for (const named of ['@aws-sdk/client-lambda', '@aws-sdk/credential-provider-node', '@smithy/core/checksum', 'aws4']) {
      assert.equal(await problems(`import { x } from '${named}';\nexport const y = x;\n`), 0, named);
    }
  });
});
