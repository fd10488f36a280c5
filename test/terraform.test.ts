import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { artifactPath } from '../new-services/build.js';
import { FUNCTION_ENTRIES } from '../new-services/functions.js';
import { parseConfig } from '../proxy/config/config.js';
import { WEBHOOK_PATH } from '../proxy/admin/webhook.js';
import { KEEP_ALIVE_TIMEOUT_MS } from '../proxy/http/respond.js';
import {
  allProblems, databaseProblems, formatProblems, functionProblems, iamProblems, ingressProblems, loadTree, moduleCallProblems, type Obj, providerSchema,
  referenceProblems, schemaProblems, secretLiteralProblems, type TfModule, type Tree,
} from './support/terraform.js';

const ROOT = 'terraform';
const FUNCTIONS = Object.keys(FUNCTION_ENTRIES).sort();
const ENVS = ['envs/staging', 'envs/prod'];

function module(tree: Tree, dir: string): TfModule {
  const found = tree.get(dir);
  assert.ok(found, `terraform/${dir} exists`);
  return found;
}

function resource(mod: TfModule, address: string): Obj {
  const found = mod.resources.get(address);
  assert.ok(found, `${mod.dir} has ${address}`);
  return found.body;
}

function local(mod: TfModule, name: string): unknown {
  assert.ok(mod.locals.has(name), `${mod.dir} defines local.${name}`);
  return mod.locals.get(name)?.value;
}

function first(value: unknown, what: string): Obj {
  assert.ok(Array.isArray(value) && value.length === 1, `exactly one ${what}`);
  return value[0] as Obj;
}

/** A copy of terraform/ with one file edited: the planted defect. */
async function planted(file: string, edit: (text: string) => string): Promise<Tree> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-tf-'));
  try {
    cpSync(ROOT, dir, { recursive: true });
    const target = path.join(dir, file || 'envs/staging/main.tf');
    const before = readFileSync(target, 'utf8');
    const after = edit(before);
    if (file !== '') assert.notEqual(after, before, `the defect was planted in ${file}`);
    writeFileSync(target, after);
    return await loadTree(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function replaceOnce(text: string, from: string, to: string): string {
  assert.equal(text.split(from).length, 2, `"${from}" occurs exactly once`);
  return text.replace(from, to);
}

/** Terraform cannot run here: the configuration is parsed and checked against the provider's schema and the code it deploys. */
describe('terraform', function () {
  this.timeout(30_000);
  let tree: Tree;

  before(async () => {
    tree = await loadTree(ROOT);
  });

  describe('the whole tree', () => {
    it('parses, and has the five modules, the deployment that wires them, and both environments', () => {
      assert.deepEqual([...tree.keys()].sort(), [...ENVS, 'modules/database', 'modules/deployment', 'modules/fulfillment-queue', 'modules/lambda-service', 'modules/observability', 'modules/proxy-service'].sort());
    });

    it('is formatted as terraform fmt formats it', () => {
      const problems = [...tree.values()].flatMap((mod) => mod.files.flatMap((file) => formatProblems(file.path, file.text)));
      assert.deepEqual(problems, []);
    });

    it('uses only resource types, data sources, arguments and blocks the AWS provider 6.x schema has', () => {
      assert.match(providerSchema().providers.aws?.version ?? '', /^6\./);
      assert.deepEqual(schemaProblems(tree), []);
    });

    it('declares every var.x, and every local, module output, resource and data source it references', () => {
      assert.deepEqual(referenceProblems(tree), []);
    });

    it('passes every module its required variables and no unknown one', () => {
      assert.deepEqual(moduleCallProblems(tree), []);
    });

    it('has no secret literals, no IAM "*" on "*", ingress from anywhere only to the ALB, a private encrypted database', () => {
      assert.deepEqual([...secretLiteralProblems(tree), ...iamProblems(tree), ...ingressProblems(tree), ...databaseProblems(tree)], []);
    });
  });

  describe('planted defects fail for the right reason', () => {
    it('a misspelt argument (memory for memory_size)', async () => {
      const copy = await planted('modules/lambda-service/main.tf', (text) => replaceOnce(text, '  memory_size                    = var.memory_size', '  memory                         = var.memory_size'));
      assert.deepEqual(schemaProblems(copy), ['modules/lambda-service/main.tf: aws_lambda_function.function: the provider has no argument or block "memory"']);
    });

    it('a misspelt nested block argument and an unknown resource type', async () => {
      const copy = await planted('modules/proxy-service/main.tf', (text) => replaceOnce(replaceOnce(text, '    path                = "/healthz"', '    paht                = "/healthz"'), 'resource "aws_ecs_cluster" "proxy"', 'resource "aws_ecs_clustr" "proxy"'));
      const problems = schemaProblems(copy);
      assert.ok(problems.includes('modules/proxy-service/main.tf: aws_lb_target_group.proxy.health_check: the provider has no argument or block "paht"'), problems.join('\n'));
      assert.ok(problems.includes('modules/proxy-service/main.tf: aws_ecs_clustr.proxy: the providers have no resource type "aws_ecs_clustr"'), problems.join('\n'));
      assert.equal(problems.length, 2, problems.join('\n'));
    });

    it('a missing required argument', async () => {
      const copy = await planted('modules/lambda-service/main.tf', (text) => replaceOnce(text, '  role                           = aws_iam_role.function.arn\n', ''));
      assert.deepEqual(schemaProblems(copy), ['modules/lambda-service/main.tf: aws_lambda_function.function: the required argument "role" is missing']);
    });

    it('a module call with an unknown variable, and one without a required variable', async () => {
      const copy = await planted('modules/deployment/main.tf', (text) => replaceOnce(
        replaceOnce(text, '  alarm_actions       = var.alarm_actions\n', '  alarm_actions       = var.alarm_actions\n  batch_sise          = 5\n'),
        '  name_prefix           = local.name\n  vpc_id                = data.aws_vpc.selected.id\n', '  vpc_id                = data.aws_vpc.selected.id\n'));
      assert.deepEqual(moduleCallProblems(copy).sort(), [
        'modules/deployment/main.tf: module "database" does not set the required variable "name_prefix" of modules/database',
        'modules/deployment/main.tf: module "fulfillment_queue" sets "batch_sise", which modules/fulfillment-queue does not declare',
      ]);
    });

    it('an undeclared variable, an undefined local, a missing module output, resource and attribute', async () => {
      const copy = await planted('modules/proxy-service/main.tf', (text) => replaceOnce(replaceOnce(replaceOnce(replaceOnce(text,
        'legacy  = { url = var.legacy_url,', 'legacy  = { url = var.legacy_uri,'),
        'container_name   = local.proxy_container.name\n    container_port   = local.traffic_port', 'container_name   = local.proxy_containers.name\n    container_port   = local.traffic_port'),
        'target_group_arn = aws_lb_target_group.proxy.arn\n  }\n}', 'target_group_arn = aws_lb_target_group.proxi.arn\n  }\n}'),
        'awslogs-region        = data.aws_region.current.region\n        awslogs-stream-prefix = "cutover"', 'awslogs-region        = data.aws_region.here.region\n        awslogs-stream-prefix = "cutover"'));
      const problems = referenceProblems(copy).map((line) => line.replace(/^[^:]+: [^:]+: /, ''));
      assert.ok(problems.includes('var.legacy_uri: no variable "legacy_uri" is declared'), problems.join('\n'));
      assert.ok(problems.includes('local.proxy_containers.name: no local "proxy_containers" is defined'), problems.join('\n'));
      assert.ok(problems.includes('aws_lb_target_group.proxi.arn: no aws_lb_target_group.proxi in modules/proxy-service'), problems.join('\n'));
      assert.ok(problems.includes('data.aws_region.here.region: no data.aws_region.here in modules/proxy-service'), problems.join('\n'));
      assert.equal(problems.length, 4, problems.join('\n'));
      const outputs = await planted('modules/proxy-service/outputs.tf', (text) => replaceOnce(text, 'aws_lb.proxy.dns_name}"', 'aws_lb.proxy.dns_nam}"'));
      assert.deepEqual(referenceProblems(outputs), ['modules/proxy-service/outputs.tf: output.url[0].value: aws_lb.proxy.dns_nam: aws_lb has no attribute "dns_nam"']);
      const missingOutput = await planted('modules/deployment/outputs.tf', (text) => replaceOnce(text, 'module.proxy.url', 'module.proxy.uri'));
      assert.deepEqual(referenceProblems(missingOutput), ['modules/deployment/outputs.tf: output.proxy_url[0].value: module.proxy.uri: module "proxy" (modules/proxy-service) has no output "uri"']);
    });

    it('a misaligned "=", a wrong indent, and two spaces between tokens', async () => {
      const copy = await planted('modules/fulfillment-queue/main.tf', (text) => replaceOnce(replaceOnce(replaceOnce(text,
        '  batch_size              = var.batch_size', '  batch_size = var.batch_size'),
        '    maximum_concurrency = var.maximum_concurrency', '      maximum_concurrency = var.maximum_concurrency'),
        'alarm_actions       = var.alarm_actions\n  ok_actions          = var.alarm_actions\n}\n\nresource "aws_cloudwatch_metric_alarm" "oldest_message"', 'alarm_actions       = var.alarm_actions\n  ok_actions          = var.alarm_actions  \n}\n\nresource "aws_cloudwatch_metric_alarm" "oldest_message"'));
      const problems = copy.get('modules/fulfillment-queue')?.files.flatMap((file) => formatProblems(file.path, file.text)) ?? [];
      assert.deepEqual(problems.map((line) => line.replace(/^[^:]+:\d+: /, '')).sort(), [
        '"=" at column 14, terraform fmt aligns it at 27',
        'indented 6, terraform fmt indents 4',
        'trailing whitespace',
      ]);
      assert.deepEqual(formatProblems('x.tf', 'locals {\n  a = [1,  2]\n}\n'), ['x.tf:2: more than one space between tokens']);
    });

    it('a secret literal, an IAM "*" on "*", ingress from anywhere to the tasks, a public database', async () => {
      const copy = await planted('modules/proxy-service/main.tf', (text) => replaceOnce(replaceOnce(replaceOnce(text,
        '{ name = "CUTOVER_ADMIN_TOKEN", valueFrom = var.admin_token_secret_arn },', '{ name = "CUTOVER_ADMIN_TOKEN", value = "correct-horse-battery-staple" },'),
        '    resources = values(var.function_alias_arns)', '    resources = ["*"]').replace('actions   = ["lambda:InvokeFunction"]', 'actions   = ["*"]'),
        '  cidr_ipv4         = data.aws_vpc.selected.cidr_block', '  cidr_ipv4         = "0.0.0.0/0"'));
      assert.deepEqual(secretLiteralProblems(copy), ['modules/proxy-service/main.tf: locals[0].secrets[1]: environment variable CUTOVER_ADMIN_TOKEN has a literal value']);
      assert.deepEqual(iamProblems(copy), ['modules/proxy-service/main.tf: data.aws_iam_policy_document.invoke: a statement allows action "*" on resource "*"']);
      assert.deepEqual(ingressProblems(copy), ['modules/proxy-service/main.tf: aws_vpc_security_group_ingress_rule.tasks_admin: ingress from anywhere (security group aws_security_group.tasks.id is not a load balancer\'s)']);
      const database = await planted('modules/database/main.tf', (text) => replaceOnce(text, 'publicly_accessible         = false', 'publicly_accessible         = true'));
      assert.deepEqual(databaseProblems(database), ['modules/database/main.tf: aws_db_instance.database: publicly_accessible must be false']);
      const password = await planted('modules/database/main.tf', (text) => replaceOnce(text, '  manage_master_user_password = true\n', '  manage_master_user_password = true\n  password                    = "hunter2-hunter2"\n'));
      assert.deepEqual(secretLiteralProblems(password), ['modules/database/main.tf: resource.aws_db_instance.database[0].password: a literal value for "password"; take it from Secrets Manager or SSM']);
    });

    it('a function without a lambda-service instance, and an instance without a function', async () => {
      const copy = await planted('modules/deployment/main.tf', (text) => replaceOnce(text, '  name                    = "catalog"\n', '  name                    = "catalogue"\n'));
      assert.deepEqual(functionProblems(copy, FUNCTIONS), [
        'modules/deployment/main.tf: module "catalog" deploys "catalogue", which new-services/functions.ts does not list',
        'new-services/functions.ts: catalog has no lambda-service instance',
      ]);
    });

    it('the untouched copy has no problem at all', async () => {
      const copy = await planted('', (text) => text);
      assert.deepEqual(allProblems(copy), []);
    }).timeout(30_000);
  });

  describe('what it deploys matches the code', () => {
    it('has one lambda-service instance per function in new-services/functions.ts, each with its bundle, and no other', () => {
      const deployment = module(tree, 'modules/deployment');
      assert.deepEqual(functionProblems(tree, FUNCTIONS), []);
      const instances = [...deployment.modules].filter(([, call]) => call.body.source === '../lambda-service');
      assert.deepEqual(instances.map(([name]) => name).sort(), FUNCTIONS);
      for (const [name, call] of instances) {
        assert.equal(call.body.name, name, `module "${name}" deploys the function ${name}`);
        const artifact = String(call.body.artifact).replace('${var.build_dir}', 'build/functions');
        assert.equal(artifact, artifactPath(name as keyof typeof FUNCTION_ENTRIES), `${name}: Terraform zips the file build:functions writes`);
      }
      for (const [dir, mod] of tree) if (dir !== 'modules/deployment') assert.ok(![...mod.modules.values()].some((call) => call.body.source === '../lambda-service' || call.body.source === '../../modules/lambda-service'), `${dir} deploys no function of its own`);
      const service = module(tree, 'modules/lambda-service');
      assert.equal(service.variables.get('handler')?.body.default, 'index.handler', 'the bundles export handler from index.cjs');
      assert.equal(service.variables.get('runtime')?.body.default, 'nodejs20.x');
      assert.equal(resource(service, 'data.archive_file.bundle').source_file, '${var.artifact}');
      const timeouts = local(deployment, 'timeouts') as Record<string, number>;
      const source = readFileSync('new-services/functions.ts', 'utf8');
      for (const name of FUNCTIONS) {
        const ms = new RegExp(`${name}: \\{ handler: [^\\n]*timeoutMs: ([\\d_]+)`).exec(source)?.[1];
        assert.ok(ms, `functions.ts gives ${name} a timeout`);
        assert.equal(timeouts[name], Number(ms.replaceAll('_', '')) / 1000, `${name}: the deployed timeout is the local host's`);
      }
    });

    it('gives each function an alias live on a published version, a log group with retention, a dead-letter queue, optional concurrency and tracing', () => {
      const service = module(tree, 'modules/lambda-service');
      const fn = resource(service, 'aws_lambda_function.function');
      assert.equal(fn.publish, true);
      assert.equal(first(fn.dead_letter_config, 'dead_letter_config').target_arn, '${aws_sqs_queue.dead_letters.arn}');
      assert.match(String(first(fn.tracing_config, 'tracing_config').mode), /var\.tracing/);
      assert.equal(fn.reserved_concurrent_executions, '${var.reserved_concurrency}');
      const alias = resource(service, 'aws_lambda_alias.live');
      assert.equal(alias.name, 'live');
      assert.equal(alias.function_version, '${coalesce(var.live_version, aws_lambda_function.function.version)}');
      assert.equal(resource(service, 'aws_lambda_provisioned_concurrency_config.live').qualifier, '${aws_lambda_alias.live.name}');
      assert.equal(resource(service, 'aws_cloudwatch_log_group.function').retention_in_days, '${var.log_retention_days}');
      assert.equal(service.outputs.get('alias_arn')?.body.value, '${aws_lambda_alias.live.arn}');
    });

    it('feeds fulfillment from an SQS queue with a dead-letter queue, partial batch failures and alarms, and orders know the queue', () => {
      const queue = module(tree, 'modules/fulfillment-queue');
      const mapping = resource(queue, 'aws_lambda_event_source_mapping.fulfillment');
      assert.equal(mapping.function_name, '${var.consumer.alias_arn}', 'the queue invokes the live alias');
      assert.deepEqual(mapping.function_response_types, ['ReportBatchItemFailures']);
      assert.match(String(resource(queue, 'aws_sqs_queue.fulfillment').redrive_policy), /aws_sqs_queue\.dead_letters\.arn/);
      assert.equal(resource(queue, 'aws_cloudwatch_metric_alarm.dead_letters').metric_name, 'ApproximateNumberOfMessagesVisible');
      assert.equal(resource(queue, 'aws_cloudwatch_metric_alarm.oldest_message').metric_name, 'ApproximateAgeOfOldestMessage');
      const deployment = module(tree, 'modules/deployment');
      const call = deployment.modules.get('fulfillment_queue')?.body;
      assert.match(JSON.stringify(call?.consumer), /module\.fulfillment\.alias_arn/);
      assert.equal((deployment.modules.get('orders')?.body.environment as Obj).FULFILLMENT_QUEUE_URL, '${module.fulfillment_queue.queue_url}');
      for (const name of FUNCTIONS) assert.equal((deployment.modules.get(name)?.body.environment as Obj).DATABASE_URL, '${module.database.functions_url}', `${name} reaches the database through RDS Proxy`);
    });

    it('gives the proxy task every production setting from a variable or a secret, in a configuration the proxy accepts', () => {
      const proxy = module(tree, 'modules/proxy-service');
      const config = local(proxy, 'config') as Record<string, Record<string, unknown>>;
      assert.equal(config.legacy?.url, '${var.legacy_url}');
      assert.equal(config.lambda?.region, '${var.lambda_region}');
      assert.equal(config.traffic?.trustForwarded, true, 'behind the ALB, X-Forwarded-* are the ALB\'s');
      assert.equal(config.traffic?.drainMs, '${var.drain_ms}');
      assert.equal(config.admin?.host, '0.0.0.0');
      assert.equal(local(proxy, 'admin_port'), 9901);
      assert.equal(config.groups, '${local.groups}');
      assert.match(String(local(proxy, 'groups')), /function = var\.function_alias_arns\[group\.function\]/, 'each group invokes its function\'s live alias');
      const secrets = local(proxy, 'secrets') as Array<{ name: string; valueFrom: string }>;
      assert.deepEqual(secrets.map((secret) => [secret.name, secret.valueFrom]), [
        ['CUTOVER_FLAGS_SDK_KEY', '${var.sdk_key_secret_arn}'],
        ['CUTOVER_ADMIN_TOKEN', '${var.admin_token_secret_arn}'],
        ['CUTOVER_STORE_URL', '${var.store_url_secret_arn}'],
        ['CUTOVER_OPTIMIZELY_WEBHOOK_SECRET', '${var.webhook_secret_arn}'],
      ]);
      assert.equal(config.flags?.webhookSecretEnv, 'CUTOVER_OPTIMIZELY_WEBHOOK_SECRET', 'the webhook secret named, read from its secret');
      const start = String(local(proxy, 'start_command'));
      assert.match(start, /config\.flags\.sdkKey = process\.env\.CUTOVER_FLAGS_SDK_KEY/);
      assert.match(start, /JSON\.parse\(process\.env\.CUTOVER_CONFIG_JSON\)/);
      assert.match(start, /exec node dist\/proxy\/cli\.js start --config \/tmp\/cutover\.json/, 'node on the built entry point: nothing builds at start');
      const container = local(proxy, 'proxy_container') as Obj;
      assert.deepEqual(container.environment, [{ name: 'CUTOVER_CONFIG_JSON', value: '${jsonencode(local.config)}' }], 'no other plain environment value');
      assert.equal(container.secrets, '${local.secrets}');
      assert.match(String(resource(proxy, 'aws_ecs_task_definition.proxy').container_definitions), /local\.proxy_container/);

      // The configuration as the task renders it, with the environments' groups: the proxy's own parser accepts it.
      const groupsFile = 'terraform/envs/proxy-groups.yaml';
      const groups = parseYaml(readFileSync(groupsFile, 'utf8')) as Record<string, { function: string; rules?: string }>;
      const aliases = Object.fromEntries(FUNCTIONS.map((name) => [name, `arn:aws:lambda:us-east-1:123456789012:function:pet-store-prod-${name}:live`]));
      const staging = module(tree, 'envs/staging').modules.get('deployment')?.body as Obj;
      const rendered = Object.fromEntries(Object.entries(groups).map(([name, group]) => {
        assert.ok(FUNCTIONS.includes(group.function), `group ${name} names a deployed function`);
        const rules = group.rules ? JSON.parse(readFileSync(path.resolve(path.dirname(groupsFile), group.rules), 'utf8')) as unknown : undefined;
        return [name, { ...group, function: aliases[group.function], ...(rules ? { rules } : {}) }];
      }));
      const samples: Record<string, unknown> = {
        '${var.legacy_url}': 'http://legacy.internal:8080', '${var.legacy_keep_alive_ms}': 4000, '${var.lambda_region}': 'us-east-1',
        '${var.drain_ms}': 1000, '${local.traffic_port}': 8080, '${local.admin_port}': 9901, '${var.log_level}': 'info',
        '${var.flags_poll_interval_ms}': 60_000, '${var.caller}': staging.proxy_caller, '${var.routing}': staging.proxy_routing, '${local.groups}': rendered,
        '${var.public_host}': 'shop.example.com',
      };
      const render = (value: unknown): unknown => {
        if (typeof value === 'string' && value.includes('${')) {
          assert.ok(value in samples, `a sample value for ${value}`);
          return samples[value];
        }
        if (Array.isArray(value)) return value.map(render);
        if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, render(item)]));
        return value;
      };
      const document = render(config) as Record<string, Record<string, unknown>>;
      document.flags = { ...document.flags, sdkKey: 'sdk-key-from-the-secret' };
      const parsed = parseConfig(document, os.tmpdir(), { CUTOVER_ADMIN_TOKEN: 'a-token-of-sixteen-or-more', CUTOVER_OPTIMIZELY_WEBHOOK_SECRET: 'a-webhook-secret-of-sixteen-or-more' });
      assert.equal(parsed.traffic.trustForwarded, true);
      assert.equal(parsed.flags.webhookSecret, 'a-webhook-secret-of-sixteen-or-more');
      assert.ok(parsed.admin.allowedHosts.includes('shop.example.com'), 'the admin port answers the public name the webhook comes by');
      assert.equal(parsed.admin.port, 9901);
      assert.equal(parsed.groups.find((group) => group.name === 'catalog')?.function, aliases.catalog);
    });

    it('puts the proxy behind an HTTPS ALB with /healthz on the admin port, an idle timeout below the keep-alive, autoscaling, a task role that only invokes live aliases', () => {
      const proxy = module(tree, 'modules/proxy-service');
      const idle = proxy.variables.get('alb_idle_timeout')?.body.default;
      assert.equal(typeof idle, 'number');
      assert.ok((idle as number) * 1000 < KEEP_ALIVE_TIMEOUT_MS, `ALB idle timeout ${String(idle)} s < proxy keep-alive ${KEEP_ALIVE_TIMEOUT_MS} ms`);
      assert.equal(resource(proxy, 'aws_lb.proxy').idle_timeout, '${var.alb_idle_timeout}');
      const health = first(resource(proxy, 'aws_lb_target_group.proxy').health_check, 'health_check');
      assert.equal(health.path, '/healthz');
      assert.equal(health.port, '${tostring(local.admin_port)}');
      const https = resource(proxy, 'aws_lb_listener.https');
      assert.equal(https.port, 443);
      assert.equal(https.protocol, 'HTTPS');
      const http = first(resource(proxy, 'aws_lb_listener.http').default_action, 'default_action');
      assert.equal(http.type, 'redirect');
      assert.deepEqual(
        ['cpu', 'requests'].map((name) => first(first(resource(proxy, `aws_appautoscaling_policy.${name}`).target_tracking_scaling_policy_configuration, 'target tracking').predefined_metric_specification, 'metric').predefined_metric_type),
        ['ECSServiceAverageCPUUtilization', 'ALBRequestCountPerTarget'],
      );
      const invoke = first(resource(proxy, 'data.aws_iam_policy_document.invoke').statement, 'statement');
      assert.deepEqual([invoke.actions, invoke.resources], [['lambda:InvokeFunction'], '${values(var.function_alias_arns)}']);
      const taskPolicies = [...proxy.resources.values()].filter((r) => r.type === 'aws_iam_role_policy' && String(r.body.role).includes('aws_iam_role.task'));
      assert.deepEqual(taskPolicies.map((r) => r.name).sort(), ['invoke', 'remote_write'], 'the task role: invoke, and the metrics collector\'s remote write');
      const admin = resource(proxy, 'aws_vpc_security_group_ingress_rule.tasks_admin');
      assert.equal(admin.cidr_ipv4, '${data.aws_vpc.selected.cidr_block}', 'the admin port only from inside the VPC');
    });

    it("forwards only POST /webhooks/optimizely on the public name to the admin port, for Optimizely's webhook", () => {
      const proxy = module(tree, 'modules/proxy-service');
      const rule = resource(proxy, 'aws_lb_listener_rule.webhook');
      assert.equal(rule.listener_arn, '${aws_lb_listener.https.arn}', 'HTTPS only');
      const action = first(rule.action, 'action');
      assert.deepEqual([action.type, action.target_group_arn], ['forward', '${aws_lb_target_group.webhook.arn}']);
      const conditions = rule.condition as Obj[];
      const values = (name: string) => conditions.map((condition) => condition[name]).filter((block) => block !== undefined).map((block) => first(block, name).values);
      assert.deepEqual(values('path_pattern'), [[WEBHOOK_PATH]], 'the one path, exactly');
      assert.deepEqual(values('http_request_method'), [['POST']]);
      assert.deepEqual(values('host_header'), [['${var.public_host}']]);
      const target = resource(proxy, 'aws_lb_target_group.webhook');
      assert.equal(target.port, '${local.admin_port}');
      const service = resource(proxy, 'aws_ecs_service.proxy');
      const balancers = (service.load_balancer as Obj[]).map((block) => [block.target_group_arn, block.container_port]);
      assert.deepEqual(balancers, [['${aws_lb_target_group.proxy.arn}', '${local.traffic_port}'], ['${aws_lb_target_group.webhook.arn}', '${local.admin_port}']]);
      // Every other request on the public listener still goes to the traffic port.
      assert.equal(first(resource(proxy, 'aws_lb_listener.https').default_action, 'default_action').target_group_arn, '${aws_lb_target_group.proxy.arn}');
      const deployment = module(tree, 'modules/deployment').modules.get('proxy')?.body as Obj;
      assert.deepEqual([deployment.public_host, deployment.webhook_secret_arn], ['${var.certificate_domain}', '${data.aws_secretsmanager_secret.webhook_secret.arn}']);
    });

    it('keeps the database private with RDS Proxy, managed credentials, encryption and backups', () => {
      const database = module(tree, 'modules/database');
      const instance = resource(database, 'aws_db_instance.database');
      assert.equal(instance.manage_master_user_password, true);
      assert.equal(instance.storage_encrypted, true);
      assert.equal(instance.publicly_accessible, false);
      assert.equal(instance.backup_retention_period, '${var.backup_retention_days}');
      assert.ok(database.variables.get('backup_retention_days')?.body.validation, 'backups are at least a day');
      assert.equal(resource(database, 'aws_db_proxy.functions').engine_family, 'POSTGRESQL');
    });

    it('takes the Prometheus rule groups and Grafana dashboards of dashboards/ as inputs', () => {
      const observability = module(tree, 'modules/observability');
      assert.equal(resource(observability, 'aws_prometheus_rule_group_namespace.rules').for_each, '${var.rule_group_files}');
      assert.equal(resource(observability, 'grafana_dashboard.dashboards').config_json, '${file(each.value)}');
      assert.deepEqual(['prometheus', 'grafana-postgresql-datasource'], ['prometheus', 'postgres'].map((name) => resource(observability, `grafana_data_source.${name}`).type));
      const deployment = module(tree, 'modules/deployment');
      assert.match(String(local(deployment, 'rule_group_files')), /try\(fileset\(var\.dashboards_dir, "rules\/\*\.yaml"\), \[\]\)/);
      assert.match(String(local(deployment, 'dashboard_files')), /try\(fileset\(var\.dashboards_dir, "\*\.json"\), \[\]\)/);
      for (const env of ENVS) {
        const call = module(tree, env).modules.get('deployment')?.body as Obj;
        assert.equal(path.resolve(ROOT, env, String(call.dashboards_dir).replace('${path.root}', '.')), path.resolve('dashboards'));
        assert.equal(path.resolve(ROOT, env, String(call.build_dir).replace('${path.root}', '.')), path.resolve('build/functions'));
      }
    });
  });

  describe('environments', () => {
    /** The structure of a value with its literals blanked: what must not differ between environments. */
    function shape(value: unknown): unknown {
      if (Array.isArray(value)) return value.map(shape);
      if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, shape(item)]));
      return typeof value === 'string' && value.includes('${') ? value : typeof value;
    }

    it('pin Terraform and the AWS provider 6.x, keep state in S3 with locking, tag everything through default_tags', () => {
      for (const env of ENVS) {
        const mod = module(tree, env);
        const settings = first(mod.terraform, `${env} terraform block`);
        const providers = first(settings.required_providers, 'required_providers') as Record<string, { version: string }>;
        assert.match(providers.aws?.version ?? '', /^~> 6\.\d+$/);
        const backend = first((settings.backend as Obj | undefined)?.s3, 's3 backend');
        assert.equal(backend.use_lockfile, true);
        assert.equal(backend.encrypt, true);
        const tags = first(mod.providers.get('aws')?.body.default_tags, 'default_tags').tags as Obj;
        assert.deepEqual(Object.keys(tags).sort(), ['environment', 'owner', 'service']);
        assert.equal(tags.environment, env.split('/')[1]);
        assert.deepEqual([...mod.outputs.keys()].filter((name) => ['proxy_url', 'grafana_url', 'function_alias_arns', 'queue_urls'].includes(name)).sort(), ['function_alias_arns', 'grafana_url', 'proxy_url', 'queue_urls']);
        for (const [name, variable] of mod.variables) assert.ok(variable.body.validation, `${env}: variable ${name} has a validation block`);
      }
      for (const mod of tree.values()) for (const settings of mod.terraform) assert.match(String((first(settings.required_providers, 'required_providers') as Record<string, { version: string }>).aws?.version), /^~> 6\./, `${mod.dir} pins AWS provider 6.x`);
    });

    it('prod differs from staging by values, not by code', () => {
      const [staging, prod] = ENVS.map((env) => module(tree, env).files.map((file) => file.json));
      assert.deepEqual(shape(prod), shape(staging));
      assert.notDeepEqual(prod, staging);
    });

    it('validate the deployment\'s inputs', () => {
      const deployment = module(tree, 'modules/deployment');
      for (const name of ['environment', 'functions', 'proxy_image', 'proxy_tasks', 'legacy_url', 'sdk_key_secret_name', 'admin_token_secret_name', 'database', 'log_retention_days']) {
        assert.ok(deployment.variables.get(name)?.body.validation, `variable ${name} has a validation block`);
      }
    });
  });
});
