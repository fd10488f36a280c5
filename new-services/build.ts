import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { FUNCTION_ENTRIES, type FunctionName } from './functions.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Where a function's bundle lands; terraform/modules/lambda-service zips it from there. */
export function artifactPath(name: FunctionName): string {
  return `build/functions/${name}/index.cjs`;
}

/**
 * Bundles each function with its dependencies into one CommonJS file, the form the Lambda
 * Node.js runtime loads with the handler `index.handler`. CommonJS because pg and the AWS SDK
 * still load Node built-ins with require. pg-native is pg's optional native binding, not used.
 */
export async function buildFunctions(root = ROOT): Promise<Record<FunctionName, string>> {
  const built = {} as Record<FunctionName, string>;
  for (const [name, entry] of Object.entries(FUNCTION_ENTRIES) as Array<[FunctionName, string]>) {
    const outfile = path.join(root, artifactPath(name));
    mkdirSync(path.dirname(outfile), { recursive: true });
    await build({
      entryPoints: [path.join(root, entry)],
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      minify: false,
      sourcemap: 'linked',
      external: ['pg-native'],
      logLevel: 'warning',
    });
    built[name] = outfile;
  }
  return built;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildFunctions().then((built) => {
    for (const [name, file] of Object.entries(built)) console.log(`build:functions: ${name} -> ${path.relative(ROOT, file)}`);
  }, (error: unknown) => {
    console.error(`build:functions: ${(error as Error).message}`);
    process.exit(1);
  });
}
