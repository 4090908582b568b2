/**
 * `stratus image build <name> [--endpoint URL] [--cache DIR] [--no-push]` and
 * `stratus image list`: images built offline from Debian's and npm's packages, pushed into
 * a running Stratus's ECR under `stratus/`. Progress goes to stderr; the pushed reference
 * and digest to stdout (one line), so scripts can capture it.
 */
import { parseArgs } from 'node:util';
import { buildImage } from './build/builder.js';
import { defaultCacheDir } from './build/cache.js';
import { listRecipes, RecipeError } from './build/recipes.js';
import { RUNTIME_IMAGES } from './build/runtime-images.js';

const USAGE = `Usage: stratus image build <name> [options]
       stratus image list

  build <name>      build an image and push it into Stratus's ECR (stratus/<name>);
                    <name> as \`stratus image list\` shows it, or a Lambda runtime
                    name (nodejs22.x, python3.13, provided.al2023)
  --endpoint URL    the running Stratus (default http://127.0.0.1:4566, env
                    STRATUS_ENDPOINT); credentials from AWS_ACCESS_KEY_ID/... or test/test
  --cache DIR       build cache (default ${defaultCacheDir()})
  --no-push         build into the cache only
  -h, --help        this text
`;

export async function imageCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        endpoint: { type: 'string' },
        cache: { type: 'string' },
        'no-push': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, name, ...rest] = positionals;
  if (values.help || command === undefined) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  if (command === 'list' && name === undefined) {
    for (const r of listRecipes()) {
      const what =
        r.kind === 'debian'
          ? 'minbase rootfs'
          : r.kind === 'lightsail'
            ? `Lightsail blueprint ${r.blueprint}`
            : `${r.runtime}: ${RUNTIME_IMAGES[r.runtime]?.interpreterVersion ?? '?'}`;
      process.stdout.write(`${r.name.padEnd(24)} ${r.repository}:${r.tag}  (${what})\n`);
    }
    return 0;
  }
  if (command !== 'build' || name === undefined || rest.length > 0) {
    process.stderr.write(`unknown image command: ${positionals.join(' ')}\n\n${USAGE}`);
    return 2;
  }
  try {
    const result = await buildImage(name, {
      endpoint: values.endpoint,
      cacheDir: values.cache,
      push: !values['no-push'],
    });
    process.stdout.write(`${result.reference}@${result.manifestDigest}\n`);
    return 0;
  } catch (err) {
    const message =
      err instanceof RecipeError ? err.message : String((err as Error).message ?? err);
    process.stderr.write(`stratus image build ${name}: ${message}\n`);
    return 1;
  }
}
