import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { convertFiles } from '@cdktf/hcl2json';
import { artifactPath } from '../new-services/build.js';
import { FUNCTION_ENTRIES, type FunctionName } from '../new-services/functions.js';

type Block = Record<string, unknown>;
type Hcl = { resource?: Record<string, Record<string, Block[]>>; data?: Record<string, Record<string, Block[]>>; locals?: Block[]; module?: Record<string, Block[]>; variable?: Record<string, Block[]> };

const MODULE = 'terraform/modules/pet-store-functions';

function only(blocks: Block[] | undefined, what: string): Block {
  assert.equal(blocks?.length, 1, `exactly one ${what}`);
  return blocks[0] as Block;
}

/** Terraform cannot run here: the configuration is parsed and checked against the code it deploys. */
describe('terraform', function () {
  this.timeout(30_000);
  let module: Hcl;
  let staging: Hcl;

  before(async () => {
    module = await convertFiles(MODULE) as Hcl;
    staging = await convertFiles('terraform/environments/staging') as Hcl;
  });

  it('deploys one Lambda function for every function the code lists, with the bundle as its code', () => {
    assert.deepEqual(Object.keys(FUNCTION_ENTRIES).sort(), ['catalog', 'fulfillment', 'orders']);
    const functions = only(module.locals, 'locals block').functions as Record<string, Block>;
    assert.deepEqual(Object.keys(functions).sort(), Object.keys(FUNCTION_ENTRIES).sort());
    const lambda = only(module.resource?.aws_lambda_function?.function, 'aws_lambda_function');
    assert.equal(lambda.for_each, '${local.functions}');
    assert.equal(lambda.handler, 'index.handler', 'the bundles export handler from index.cjs');
    assert.equal(lambda.runtime, 'nodejs20.x');
    assert.equal(lambda.filename, '${data.archive_file.function[each.key].output_path}');
    const archive = only(module.data?.archive_file?.function, 'archive_file');
    for (const name of Object.keys(FUNCTION_ENTRIES) as FunctionName[]) {
      const file = (archive.source_file as string).replace('${var.build_dir}', 'build/functions').replace('${each.key}', name);
      assert.equal(file, artifactPath(name), `${name}: Terraform zips the file that build:functions writes`);
    }
    const environment = only((lambda.environment as Block[]), 'environment').variables as string;
    assert.match(environment, /DATABASE_URL = var\.database_url/);
  });

  it('feeds fulfillment from an SQS queue with a dead-letter queue and partial batch failures', () => {
    const mapping = only(module.resource?.aws_lambda_event_source_mapping?.fulfillment, 'event source mapping');
    assert.equal(mapping.event_source_arn, '${aws_sqs_queue.fulfillment.arn}');
    assert.equal(mapping.function_name, '${aws_lambda_function.function["fulfillment"].arn}');
    assert.deepEqual(mapping.function_response_types, ['ReportBatchItemFailures']);
    const queue = only(module.resource?.aws_sqs_queue?.fulfillment, 'fulfillment queue');
    assert.match(String(queue.redrive_policy), /aws_sqs_queue\.fulfillment_dead_letters\.arn/);
    const orders = (only(module.locals, 'locals block').functions as Record<string, Block>).orders as Block;
    assert.deepEqual(orders.environment, { FULFILLMENT_QUEUE_URL: '${aws_sqs_queue.fulfillment.url}' }, 'the orders function knows where to send');
  });

  it('has an environment that uses the module and points it at the build folder', () => {
    const use = only(staging.module?.pet_store_functions, 'module block');
    assert.equal(use.source, '../../modules/pet-store-functions');
    const buildDir = path.resolve('terraform/environments/staging', String(use.build_dir).replace('${path.root}', '.'));
    assert.equal(buildDir, path.resolve('build/functions'));
    const declared = Object.keys(module.variable ?? {});
    const required = declared.filter((name) => !('default' in (module.variable?.[name]?.[0] ?? {})));
    assert.deepEqual([...required].sort(), ['build_dir', 'database_url', 'name_prefix', 'security_group_ids', 'subnet_ids']);
    for (const name of required) assert.ok(name in use, `the environment sets ${name}`);
    for (const name of Object.keys(use).filter((key) => key !== 'source')) assert.ok(declared.includes(name), `the module declares ${name}`);
  });

  it('names only entry modules that exist', () => {
    assert.equal(Object.values(FUNCTION_ENTRIES).length, 3);
    for (const entry of Object.values(FUNCTION_ENTRIES)) assert.ok(existsSync(entry), entry);
  });
});
