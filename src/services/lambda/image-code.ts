/**
 * Container image code (`PackageType: Image`): `Code.ImageUri` names an image in the
 * caller's own ECR, which is Stratus's registry, in ECR's URI form with a tag or a digest
 * (`<acct>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>|@sha256:…`). Lambda resolves a tag
 * to the image's digest when the code is set, and every version runs that digest, so a tag
 * moved later changes nothing until UpdateFunctionCode.
 * https://docs.aws.amazon.com/lambda/latest/dg/images-create.html
 * https://docs.aws.amazon.com/lambda/latest/api/API_FunctionCode.html
 *
 * An image needs a container driver: on the process driver CreateFunction says which flag
 * starts one instead of creating a function that could never run.
 */
import type { DriverName, ImageSource } from '../../runtime/container.js';
import { ImageNotFoundError } from '../../runtime/container.js';
import type { Scope } from './arns.js';
import { invalidParameter } from './errors.js';
import type { ImageRef } from './store.js';

/** What Lambda needs to run image functions; `source` is unset where it cannot. */
export interface FunctionImages {
  /** ECR's images, set when functions run in containers (runc or docker). */
  source: ImageSource | undefined;
  /** The server's driver (named in the error when images cannot run). */
  driver: DriverName;
}

/** ECR's repository URI with a tag or a digest; a bare repository is not valid. */
const ECR_IMAGE_URI =
  /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/((?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$/;

/** AWS's answer when an Image function is given Runtime, Handler or Layers. */
export const IMAGE_ONLY_FIELDS =
  "Please don't provide Handler or Runtime or Layer when the intended function PackageType is Image.";

interface CodeInput {
  ZipFile?: Uint8Array;
  S3Bucket?: string;
  ImageUri?: string;
}

/** The checks of a create with `PackageType: Image` that need no lookup. */
export function checkImageCreate(input: {
  Runtime?: string;
  Handler?: string;
  Layers?: string[];
  Code: CodeInput;
}): string {
  if (input.Runtime !== undefined || input.Handler !== undefined || input.Layers?.length) {
    throw invalidParameter(IMAGE_ONLY_FIELDS);
  }
  return imageUriOf(
    input.Code,
    'Please provide ImageUri when the intended function PackageType is Image.',
  );
}

/** UpdateFunctionCode of an Image function: only a new ImageUri. */
export function imageUriForUpdate(input: CodeInput): string {
  return imageUriOf(
    input,
    'Please provide ImageUri when updating a function with packageType Image.',
  );
}

function imageUriOf(code: CodeInput, missing: string): string {
  if ((code.ZipFile && code.ZipFile.length) || code.S3Bucket !== undefined) {
    throw invalidParameter(missing);
  }
  if (code.ImageUri === undefined || code.ImageUri === '') throw invalidParameter(missing);
  return code.ImageUri;
}

/**
 * Resolves `uri` in the caller's ECR to the image's digest, with AWS's errors: a URI that
 * is not an ECR image URI with a tag or digest is "not valid", a repository, tag or digest
 * that does not exist "does not exist", another account's registry is refused as AWS
 * refuses a repository whose policy does not let Lambda pull.
 */
export async function resolveFunctionImage(
  images: FunctionImages,
  uri: string,
  scope: Scope,
): Promise<ImageRef> {
  if (images.source === undefined) {
    throw invalidParameter(
      `Container image functions (PackageType Image) run in containers, and this Stratus runs Lambda functions as host processes (--driver ${images.driver}). Start Stratus with --driver runc (root on Linux, runc installed) to run image functions.`,
    );
  }
  const m = ECR_IMAGE_URI.exec(uri);
  if (m === null || m[2] !== scope.region) {
    throw invalidParameter(`Source image ${uri} is not valid. Provide a valid source image.`);
  }
  if (m[1] !== scope.account) {
    throw invalidParameter(
      'Lambda does not have permission to access the ECR image. Check the ECR permissions.',
    );
  }
  let digest: string;
  try {
    digest = (await images.source.resolve(uri, scope.account, scope.region)).manifestDigest;
  } catch (err) {
    if (err instanceof ImageNotFoundError) {
      throw invalidParameter(`Source image ${uri} does not exist. Provide a valid source image.`);
    }
    throw err;
  }
  const repository = m[3];
  const host = uri.slice(0, uri.indexOf('/'));
  return { uri, resolvedUri: `${host}/${repository}@${digest}`, digest };
}
