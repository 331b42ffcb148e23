// A stand-in for `python <flow.py> --with kubernetes argo-workflows create`: it checks the arguments and
// environment register-flow gives Metaflow, then prints what Metaflow prints (Netflix/metaflow
// metaflow/cli.py and plugins/argo/argo_workflows_cli.py; stderr, emphasis markers stripped as click
// does without a terminal). FAKE_METAFLOW_SCENARIO picks the outcome; FAKE_METAFLOW_EXPECT holds the
// expected argv and environment as JSON; FAKE_METAFLOW_RECORD is where it writes what it saw;
// FAKE_METAFLOW_QUIET_MS is how long it stays silent after "Deploying …" (Metaflow packaging the code).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const expect = JSON.parse(process.env.FAKE_METAFLOW_EXPECT ?? '{}');
const args = process.argv.slice(2);
const problems = [];
if (expect.args && JSON.stringify(args) !== JSON.stringify(expect.args)) problems.push(`argv ${JSON.stringify(args)}, expected ${JSON.stringify(expect.args)}`);
for (const [name, value] of Object.entries(expect.env ?? {})) {
  if (process.env[name] !== value) problems.push(`${name}=${JSON.stringify(process.env[name])}, expected ${JSON.stringify(value)}`);
}
for (const name of expect.absent ?? []) if (name in process.env) problems.push(`${name} is set but should not be`);
const tokenFile = process.env.AZURE_FEDERATED_TOKEN_FILE;
if (expect.federatedToken && !(tokenFile && existsSync(tokenFile) && readFileSync(tokenFile, 'utf8').split('.').length === 3)) problems.push(`AZURE_FEDERATED_TOKEN_FILE ${tokenFile} does not hold a JWT`);
if (process.env.FAKE_METAFLOW_RECORD) writeFileSync(process.env.FAKE_METAFLOW_RECORD, JSON.stringify({ args, cwd: process.cwd(), tokenFile }));
if (problems.length) {
  process.stderr.write(`fake python: ${problems.join('; ')}\n`);
  process.exit(97);
}

const flow = (args[0] ?? 'flow.py').replace(/^.*\//, '').replace(/\.py$/, '');
const className = flow.charAt(0).toUpperCase() + flow.slice(1) + 'Flow';
const name = className.toLowerCase();
const token = `${name}-0-xqzv`;
const say = (line = '') => process.stderr.write(`${line}\n`);
const scenario = process.env.FAKE_METAFLOW_SCENARIO ?? 'first-deploy';

say(`Metaflow 2.15.7 executing ${className} for user:runner`);
say('Validating your flow...');
say('    The graph looks good!');
say('Running pylint...');
say('    Pylint not found, so extra checks are disabled.');
if (scenario === 'fail') {
  say(`Deploying ${name} to Argo Workflows...`);
  say('    Argo Workflows error:');
  say('    Unable to find kubernetes config file. Please ensure that you have a valid kubeconfig.');
  process.exit(1);
}
if (scenario === 'only-json') {
  process.stdout.write('{"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate"}\n');
  process.exit(0);
}
say(`Deploying ${name} to Argo Workflows...`);
if (process.env.FAKE_METAFLOW_QUIET_MS) await new Promise((resolve) => setTimeout(resolve, Number(process.env.FAKE_METAFLOW_QUIET_MS)));
say(`It seems this is the first time you are deploying ${name} to Argo Workflows.`);
say();
say('A new production token generated.');
say();
say('The namespace of this production flow is');
say(`    production:${token}`);
say('To analyze results of this production flow add this line in your notebooks:');
say(`    namespace("production:${token}")`);
say('If you want to authorize other people to deploy new versions of this flow to Argo Workflows, they need to call');
say(`    argo-workflows create --authorize ${token}`);
say('when deploying this flow to Argo Workflows for the first time.');
say('See "Organizing Results" at https://docs.metaflow.org/ for more information about production tokens.');
say();
// With a (forced) terminal Metaflow colours this line and ends it with erase-to-end-of-line.
say(scenario === 'colour' ? `\x1b[1mWorkflow \x1b[31m${name}\x1b[0m\x1b[1m for flow \x1b[31m${className}\x1b[0m\x1b[1m pushed to Argo Workflows successfully.\x1b[0m\x1b[K` : `Workflow ${name} for flow ${className} pushed to Argo Workflows successfully.`);
say();
say('Note that the flow was deployed with a modified name due to Kubernetes naming conventions');
say('on Argo Workflows. The original flow name is stored in the workflow annotation.');
say();
if (process.env.METAFLOW_ARGO_WORKFLOWS_UI_URL) {
  say('See the deployed workflow here:');
  say(`    ${process.env.METAFLOW_ARGO_WORKFLOWS_UI_URL.replace(/\/$/, '')}/workflow-templates/${process.env.METAFLOW_KUBERNETES_NAMESPACE}/${name}`);
  say();
  say();
}
say('What will trigger execution of the workflow:');
say(process.env.METAFLOW_FAKE_CRON ? `    This workflow triggers automatically via the CronWorkflow ${name}.` : '    No triggers defined. You need to launch this workflow manually.');
