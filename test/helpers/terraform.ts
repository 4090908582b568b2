/**
 * Terraform (hashicorp/aws) against a test server: apply, plan -detailed-exitcode (no
 * changes: no perpetual diff), destroy. The provider comes from a local filesystem mirror
 * (no network): STRATUS_TF_PLUGIN_DIR, else the usual mirror directories; a CLI
 * configuration named by TF_CLI_CONFIG_FILE makes `terraform init` use it offline.
 * https://developer.hashicorp.com/terraform/cli/config/config-file#provider-installation
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { repoRoot } from './process.js';
import { cliEnv } from './server.js';

export const PROVIDER_VERSION = '5.100.0';

const MIRRORS = [
  process.env.STRATUS_TF_PLUGIN_DIR,
  '/opt/tf-plugins',
  join(homedir(), '.terraform.d', 'plugins'),
  '/usr/share/terraform/plugins',
  '/usr/local/share/terraform/plugins',
].filter((d): d is string => d !== undefined && d !== '');

function onPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = join(dir, cmd);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/** The mirror holding hashicorp/aws at PROVIDER_VERSION, if any. */
function findMirror(): string | undefined {
  return MIRRORS.find((dir) => {
    const versionDir = join(dir, 'registry.terraform.io', 'hashicorp', 'aws', PROVIDER_VERSION);
    try {
      return readdirSync(versionDir).length > 0;
    } catch {
      return false;
    }
  });
}

/** Why Terraform tests cannot run here, or undefined when they can. */
export function terraformUnavailable(): string | undefined {
  if (onPath('terraform') === undefined) return 'terraform is not on PATH';
  if (findMirror() === undefined) {
    return `no filesystem mirror holds hashicorp/aws ${PROVIDER_VERSION} (set STRATUS_TF_PLUGIN_DIR)`;
  }
  return undefined;
}

export interface TfResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A copy of test/terraform/<fixture> (with the shared provider.tf) in a temporary directory, initialised. */
export class TerraformDir {
  readonly dir: string;
  private readonly env: NodeJS.ProcessEnv;

  private constructor(dir: string, env: NodeJS.ProcessEnv) {
    this.dir = dir;
    this.env = env;
  }

  /**
   * Copies the fixture and the provider configuration every fixture shares
   * (test/terraform/provider.tf), writes the CLI configuration and runs `terraform init`.
   */
  static async open(fixture: string): Promise<TerraformDir> {
    const mirror = findMirror();
    if (mirror === undefined) throw new Error(terraformUnavailable());
    const dir = mkdtempSync(join(tmpdir(), `stratus-tf-${fixture}-`));
    const fixtures = resolve(repoRoot(), 'test', 'terraform');
    cpSync(join(fixtures, fixture), dir, { recursive: true });
    cpSync(join(fixtures, 'provider.tf'), join(dir, 'provider.tf'));
    const rc = join(dir, 'cli.tfrc');
    writeFileSync(
      rc,
      `provider_installation {
  filesystem_mirror {
    path    = ${JSON.stringify(mirror)}
    include = ["registry.terraform.io/hashicorp/aws"]
  }
}
`,
    );
    const env = cliEnv({
      TF_CLI_CONFIG_FILE: rc,
      TF_IN_AUTOMATION: '1',
      TF_INPUT: '0',
      CHECKPOINT_DISABLE: '1',
    });
    const tf = new TerraformDir(dir, env);
    const init = await tf.run(['init', '-input=false', '-no-color']);
    if (init.code !== 0) throw new Error(`terraform init failed:\n${init.stdout}${init.stderr}`);
    return tf;
  }

  run(args: string[]): Promise<TfResult> {
    return new Promise((done) => {
      execFile(
        'terraform',
        args,
        { cwd: this.dir, env: this.env, maxBuffer: 64 * 1024 * 1024, timeout: 600_000 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          done({ code, stdout, stderr });
        },
      );
    });
  }

  /** `-var name=value` for each variable. */
  static vars(vars: Record<string, string>): string[] {
    return Object.entries(vars).flatMap(([k, v]) => ['-var', `${k}=${v}`]);
  }

  apply(vars: Record<string, string>): Promise<TfResult> {
    return this.run([
      'apply',
      '-auto-approve',
      '-input=false',
      '-no-color',
      '-parallelism=20',
      ...TerraformDir.vars(vars),
    ]);
  }

  /** Exit code 0: no changes; 2: changes (a perpetual diff); 1: an error. */
  plan(vars: Record<string, string>): Promise<TfResult> {
    return this.run([
      'plan',
      '-detailed-exitcode',
      '-input=false',
      '-no-color',
      '-parallelism=20',
      ...TerraformDir.vars(vars),
    ]);
  }

  destroy(vars: Record<string, string>): Promise<TfResult> {
    return this.run([
      'destroy',
      '-auto-approve',
      '-input=false',
      '-no-color',
      '-parallelism=20',
      ...TerraformDir.vars(vars),
    ]);
  }

  /** The resources in the state (`terraform state list`). */
  async state(): Promise<string[]> {
    const r = await this.run(['state', 'list']);
    return r.stdout.split('\n').filter((l) => l.trim() !== '');
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The error lines of a failed run, for an assertion message that says what failed. */
export const failure = (r: TfResult): string =>
  `exit ${r.code}\n${(r.stderr + r.stdout)
    .split('\n')
    .filter((l) => /Error|error|~|\+|-\/\+|must be replaced|will be/.test(l))
    .slice(0, 60)
    .join('\n')}`;
