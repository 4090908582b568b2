/**
 * The few ECR API calls a build makes on a running Stratus (JSON 1.1, SigV4-signed like
 * any SDK call): CreateRepository, DescribeRepositories, GetAuthorizationToken. Credentials
 * come from the usual variables (AWS_ACCESS_KEY_ID, …), else Stratus's default root keys.
 * https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_Operations.html
 */
import type {
  CreateRepositoryRequest,
  DescribeRepositoriesRequest,
  GetAuthorizationTokenRequest,
} from '../../api/ecr/types.js';
import { signRequest, type SigningCredentials } from '../../protocol/sigv4-sign.js';

const TARGET_PREFIX = 'AmazonEC2ContainerRegistry_V20150921';

export class EcrApiError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'EcrApiError';
  }
}

export interface EcrConnection {
  /** Stratus's endpoint, e.g. http://127.0.0.1:4566. */
  endpoint: string;
  region: string;
  credentials: SigningCredentials;
}

export function connectionFromEnv(
  endpoint: string,
  env: NodeJS.ProcessEnv = process.env,
): EcrConnection {
  return {
    endpoint: endpoint.replace(/\/+$/, ''),
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID || 'test',
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY || 'test',
      sessionToken: env.AWS_SESSION_TOKEN || undefined,
    },
  };
}

/** What the build reads of a repository. */
export interface RepositoryInfo {
  repositoryName: string;
  repositoryUri: string;
}

interface RepositoryWire {
  repositoryName?: string;
  repositoryUri?: string;
}

export class EcrClient {
  constructor(readonly conn: EcrConnection) {}

  private async call<T>(operation: string, input: object): Promise<T> {
    const url = new URL(this.conn.endpoint);
    const body = JSON.stringify(input);
    const headers = signRequest(
      {
        method: 'POST',
        path: '/',
        headers: {
          host: url.host,
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': `${TARGET_PREFIX}.${operation}`,
        },
        body,
      },
      this.conn.credentials,
      this.conn.region,
      'ecr',
    );
    delete headers.host; // fetch sets it from the URL
    let res: Response;
    try {
      res = await fetch(`${this.conn.endpoint}/`, { method: 'POST', headers, body });
    } catch (err) {
      throw new Error(
        `cannot reach Stratus at ${this.conn.endpoint} (${(err as Error).cause ?? (err as Error).message}); ` +
          'start it with `stratus` or pass --endpoint',
      );
    }
    const text = await res.text();
    const parsed = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    if (!res.ok) {
      const type =
        String(parsed.__type ?? `HTTP ${res.status}`)
          .split('#')
          .pop() ?? '';
      const message = String(parsed.message ?? parsed.Message ?? text);
      throw new EcrApiError(type, res.status, message);
    }
    return parsed as T;
  }

  /** Creates the repository unless it exists; returns it either way. */
  async ensureRepository(name: string): Promise<RepositoryInfo> {
    try {
      const out = await this.call<{ repository?: RepositoryWire }>('CreateRepository', {
        repositoryName: name,
      } satisfies CreateRepositoryRequest);
      return repositoryInfo(out.repository);
    } catch (err) {
      if (!(err instanceof EcrApiError && err.code === 'RepositoryAlreadyExistsException'))
        throw err;
    }
    const [repo] = await this.describeRepositories([name]);
    return repo;
  }

  async describeRepositories(names?: string[]): Promise<RepositoryInfo[]> {
    const out: RepositoryInfo[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.call<{ repositories?: RepositoryWire[]; nextToken?: string }>(
        'DescribeRepositories',
        { repositoryNames: names, nextToken } satisfies DescribeRepositoriesRequest,
      );
      out.push(...(page.repositories ?? []).map(repositoryInfo));
      nextToken = page.nextToken;
    } while (nextToken);
    return out;
  }

  /** The registry password (`AWS:<password>` decoded) for the /v2/ API. */
  async registryCredentials(): Promise<{ username: string; password: string }> {
    const out = await this.call<{ authorizationData?: { authorizationToken?: string }[] }>(
      'GetAuthorizationToken',
      {} satisfies GetAuthorizationTokenRequest,
    );
    const token = out.authorizationData?.[0]?.authorizationToken;
    if (!token) throw new Error('GetAuthorizationToken returned no token');
    const decoded = Buffer.from(token, 'base64').toString();
    const colon = decoded.indexOf(':');
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
}

function repositoryInfo(r: RepositoryWire | undefined): RepositoryInfo {
  if (!r?.repositoryName || !r.repositoryUri) throw new Error('ECR returned no repository');
  return { repositoryName: r.repositoryName, repositoryUri: r.repositoryUri };
}
