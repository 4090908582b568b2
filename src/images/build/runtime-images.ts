/**
 * Which image each Lambda runtime runs on, and whether its interpreter is the one the
 * runtime's name says. Lambda reads this table (so that "a function's log says once which
 * interpreter it got") and the README's runtime table is written from it: no silent
 * substitution. Images come from `stratus image build` (recipes.ts).
 */
import {
  DEBIAN_SUITES,
  JAVA_VERSIONS,
  LAMBDA_BASE_SUITE,
  NAMESPACE,
  NODE_VERSIONS,
  RUBY_VERSIONS,
} from './recipes.js';

export interface RuntimeImage {
  /** ECR repository and tag in Stratus's registry, e.g. `stratus/lambda-nodejs:22`. */
  image: string;
  /** What runs: `node v22.23.5`, `python 3.13`, `Debian 12 (bookworm)`. */
  interpreterVersion: string;
  /** The interpreter (or OS, for `provided`) is the one the runtime's name says. */
  exact: boolean;
  /** Why not exact, for the log line and the README. */
  note?: string;
}

/** Python minors no Debian suite on the mirror ships, and the image they run on instead. */
const PYTHON_SUBSTITUTES: Readonly<Record<string, string>> = {
  '3.9': '3.11',
  '3.10': '3.11',
  '3.12': '3.13',
};

function pythonImages(): Record<string, RuntimeImage> {
  const out: Record<string, RuntimeImage> = {};
  for (const [suite, facts] of Object.entries(DEBIAN_SUITES)) {
    out[`python${facts.python}`] = {
      image: `${NAMESPACE}/lambda-python:${facts.python}`,
      interpreterVersion: `python ${facts.python}`,
      exact: true,
      note: `Debian ${suite}'s python3`,
    };
  }
  for (const [minor, instead] of Object.entries(PYTHON_SUBSTITUTES)) {
    out[`python${minor}`] = {
      image: `${NAMESPACE}/lambda-python:${instead}`,
      interpreterVersion: `python ${instead}`,
      exact: false,
      note: `no Debian suite ships Python ${minor}`,
    };
  }
  return out;
}

function nodeImages(): Record<string, RuntimeImage> {
  const out: Record<string, RuntimeImage> = {};
  for (const [major, version] of Object.entries(NODE_VERSIONS)) {
    out[`nodejs${major}.x`] = {
      image: `${NAMESPACE}/lambda-nodejs:${major}`,
      interpreterVersion: `node v${version}`,
      exact: true,
    };
  }
  return out;
}

function providedImages(): Record<string, RuntimeImage> {
  const debian = `Debian ${DEBIAN_SUITES[LAMBDA_BASE_SUITE].version} (${LAMBDA_BASE_SUITE})`;
  const out: Record<string, RuntimeImage> = {};
  for (const [variant, aws] of [
    ['al2', 'Amazon Linux 2'],
    ['al2023', 'Amazon Linux 2023'],
  ] as const) {
    out[`provided.${variant}`] = {
      image: `${NAMESPACE}/lambda-provided:${variant}`,
      interpreterVersion: debian,
      exact: false,
      note: `${debian} userland (glibc 2.36) instead of ${aws}`,
    };
  }
  return out;
}

/** Java and Ruby runtimes no Debian suite ships, and the version they run on instead. */
const JAVA_SUBSTITUTES: Readonly<Record<string, string>> = { 'java8.al2': '17', java11: '17' };
const RUBY_SUBSTITUTES: Readonly<Record<string, string>> = { '3.2': '3.3', '3.4': '3.3' };

function javaAndRubyImages(): Record<string, RuntimeImage> {
  const out: Record<string, RuntimeImage> = {};
  for (const [major, facts] of Object.entries(JAVA_VERSIONS)) {
    out[`java${major}`] = {
      image: `${NAMESPACE}/lambda-java:${major}`,
      interpreterVersion: `OpenJDK ${major}`,
      exact: true,
      note: `Debian ${facts.suite}'s ${facts.package}`,
    };
  }
  for (const [runtime, instead] of Object.entries(JAVA_SUBSTITUTES)) {
    out[runtime] = {
      image: `${NAMESPACE}/lambda-java:${instead}`,
      interpreterVersion: `OpenJDK ${instead}`,
      exact: false,
      note: `no Debian suite on the mirror ships the Java of ${runtime}`,
    };
  }
  for (const [minor, facts] of Object.entries(RUBY_VERSIONS)) {
    out[`ruby${minor}`] = {
      image: `${NAMESPACE}/lambda-ruby:${minor}`,
      interpreterVersion: `ruby ${minor}`,
      exact: true,
      note: `Debian ${facts.suite}'s ${facts.package}`,
    };
  }
  for (const [minor, instead] of Object.entries(RUBY_SUBSTITUTES)) {
    out[`ruby${minor}`] = {
      image: `${NAMESPACE}/lambda-ruby:${instead}`,
      interpreterVersion: `ruby ${instead}`,
      exact: false,
      note: `no Debian suite on the mirror ships Ruby ${minor}`,
    };
  }
  return out;
}

/** runtime → image, for every Lambda runtime Stratus runs. */
export const RUNTIME_IMAGES: Readonly<Record<string, RuntimeImage>> = {
  ...nodeImages(),
  ...pythonImages(),
  ...providedImages(),
  ...javaAndRubyImages(),
};

export function runtimeImage(runtime: string): RuntimeImage | undefined {
  return RUNTIME_IMAGES[runtime];
}

/**
 * The line a function's log gets once (at its first init) when its runtime does not run
 * the interpreter it names; undefined when it does. No silent substitution.
 */
export function interpreterNotice(runtime: string): string | undefined {
  const entry = RUNTIME_IMAGES[runtime];
  if (!entry || entry.exact) return undefined;
  return `Stratus: ${runtime} runs on ${entry.interpreterVersion} (${entry.image}): ${entry.note}`;
}
