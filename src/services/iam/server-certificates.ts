/**
 * Server certificates (for load balancers and CloudFront in AWS): uploaded with their
 * private key, which must match ("KeyPairMismatch"), and reported with the certificate's
 * expiry. The private key is never returned.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_server-certs.html
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import {
  EntityAlreadyExistsException,
  KeyPairMismatchException,
  LimitExceededException,
  MalformedCertificateException,
  NoSuchEntityException,
} from '../../api/iam/errors.js';
import type { IamOperations } from '../../api/iam/operations.js';
import type { ServerCertificateMetadata, Tag } from '../../api/iam/types.js';
import { buildArn } from '../../shared/arn.js';
import { uniqueId } from '../../shared/aws-ids.js';
import type { MetadataOps } from '../../storage/types.js';
import { parseIamArn } from './arns.js';
import { timestamp, type IamDeps } from './common.js';
import { pageArray, pageStore } from './paging.js';
import { tagPosition } from './roles.js';
import { nameKey, T } from './store.js';
import { checkTags, mergeTags, removeTags } from './tags.js';

export interface ServerCertificateRecord {
  path: string;
  name: string;
  id: string;
  arn: string;
  body: string;
  chain?: string;
  /** PEM; load balancers terminate TLS with it (records from before it was kept lack it). */
  privateKey?: string;
  uploaded: string;
  expires: string;
  tags: Tag[];
}

type CertOps = Pick<
  IamOperations,
  | 'UploadServerCertificate'
  | 'GetServerCertificate'
  | 'ListServerCertificates'
  | 'UpdateServerCertificate'
  | 'DeleteServerCertificate'
  | 'TagServerCertificate'
  | 'UntagServerCertificate'
  | 'ListServerCertificateTags'
>;

/** "Server certificates stored in IAM: 20" (default quota). */
const MAX_CERTS = 20;

const certArn = (account: string, path: string, name: string) =>
  buildArn('iam', '', account, `server-certificate${path}${name}`);

function metadata(c: ServerCertificateRecord): ServerCertificateMetadata {
  return {
    Path: c.path,
    ServerCertificateName: c.name,
    ServerCertificateId: c.id,
    Arn: c.arn,
    UploadDate: new Date(c.uploaded),
    Expiration: new Date(c.expires),
  };
}

/** The certificate an ARN names (path included), with its key; undefined when none. */
export async function findServerCertificate(
  ops: MetadataOps,
  account: string,
  arn: string,
): Promise<ServerCertificateRecord | undefined> {
  const parsed = parseIamArn(arn, 'server-certificate');
  if (!parsed || parsed.account !== account) return undefined;
  const c = await ops.get<ServerCertificateRecord>(
    T.serverCertificates,
    nameKey(account, parsed.name),
  );
  return c?.arn === arn ? c : undefined;
}

async function getCert(ops: MetadataOps, account: string, name: string) {
  const c = await ops.get<ServerCertificateRecord>(T.serverCertificates, nameKey(account, name));
  if (!c)
    throw new NoSuchEntityException(`The Server Certificate with name ${name} cannot be found.`);
  return c;
}

export function serverCertificateOperations(deps: IamDeps): CertOps {
  const { store } = deps;
  const update = (account: string, name: string, change: (c: ServerCertificateRecord) => void) =>
    store.transaction(async (tx) => {
      const c = await getCert(tx, account, name);
      change(c);
      await tx.put(T.serverCertificates, nameKey(account, c.name), c);
    });

  return {
    async UploadServerCertificate(input, ctx) {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(input.CertificateBody);
        if (input.CertificateChain !== undefined) new X509Certificate(input.CertificateChain);
      } catch {
        throw new MalformedCertificateException(
          'Unable to parse certificate. Please ensure the certificate is in PEM format.',
        );
      }
      let matches = false;
      try {
        matches = cert.checkPrivateKey(createPrivateKey(input.PrivateKey));
      } catch {
        matches = false;
      }
      if (!matches) {
        throw new KeyPairMismatchException("Public key certificate and private key doesn't match.");
      }
      const path = input.Path ?? '/';
      const c: ServerCertificateRecord = {
        path,
        name: input.ServerCertificateName,
        id: uniqueId('ASCA'),
        arn: certArn(ctx.account, path, input.ServerCertificateName),
        body: input.CertificateBody.trim(),
        ...(input.CertificateChain !== undefined && { chain: input.CertificateChain.trim() }),
        privateKey: input.PrivateKey.trim(),
        uploaded: timestamp(deps),
        expires: new Date(cert.validTo).toISOString().replace('.000Z', 'Z'),
        tags: checkTags(input.Tags),
      };
      await store.transaction(async (tx) => {
        if ((await tx.count(T.serverCertificates, `${ctx.account}/`)) >= MAX_CERTS) {
          throw new LimitExceededException(
            `Cannot exceed quota for ServerCertificatesPerAccount: ${MAX_CERTS}`,
          );
        }
        if (!(await tx.insert(T.serverCertificates, nameKey(ctx.account, c.name), c))) {
          throw new EntityAlreadyExistsException(
            `The Server Certificate with name ${c.name} already exists.`,
          );
        }
      });
      return {
        ServerCertificateMetadata: metadata(c),
        ...(c.tags.length > 0 && { Tags: c.tags }),
      };
    },

    async GetServerCertificate(input, ctx) {
      const c = await getCert(store, ctx.account, input.ServerCertificateName);
      return {
        ServerCertificate: {
          ServerCertificateMetadata: metadata(c),
          CertificateBody: c.body,
          ...(c.chain !== undefined && { CertificateChain: c.chain }),
          ...(c.tags.length > 0 && { Tags: c.tags }),
        },
      };
    },

    async ListServerCertificates(input, ctx) {
      const prefix = input.PathPrefix ?? '/';
      const page = await pageStore<ServerCertificateRecord>(
        store,
        T.serverCertificates,
        `${ctx.account}/`,
        input.Marker,
        input.MaxItems,
        prefix === '/' ? undefined : (c) => c.path.startsWith(prefix),
      );
      return {
        ServerCertificateMetadataList: page.items.map(metadata),
        IsTruncated: page.isTruncated,
        ...(page.marker !== undefined && { Marker: page.marker }),
      };
    },

    async UpdateServerCertificate(input, ctx) {
      await store.transaction(async (tx) => {
        const c = await getCert(tx, ctx.account, input.ServerCertificateName);
        const name = input.NewServerCertificateName ?? c.name;
        const path = input.NewPath ?? c.path;
        const renamed = { ...c, name, path, arn: certArn(ctx.account, path, name) };
        if (name.toLowerCase() !== c.name.toLowerCase()) {
          if (!(await tx.insert(T.serverCertificates, nameKey(ctx.account, name), renamed))) {
            throw new EntityAlreadyExistsException(
              `The Server Certificate with name ${name} already exists.`,
            );
          }
          await tx.delete(T.serverCertificates, nameKey(ctx.account, c.name));
        } else {
          await tx.put(T.serverCertificates, nameKey(ctx.account, name), renamed);
        }
      });
    },

    async DeleteServerCertificate(input, ctx) {
      await store.transaction(async (tx) => {
        const c = await getCert(tx, ctx.account, input.ServerCertificateName);
        await tx.delete(T.serverCertificates, nameKey(ctx.account, c.name));
      });
    },

    async TagServerCertificate(input, ctx) {
      await update(ctx.account, input.ServerCertificateName, (c) => {
        c.tags = mergeTags(c.tags, input.Tags, 'ServerCertificate');
      });
    },

    async UntagServerCertificate(input, ctx) {
      await update(ctx.account, input.ServerCertificateName, (c) => {
        c.tags = removeTags(c.tags, input.TagKeys);
      });
    },

    async ListServerCertificateTags(input, ctx) {
      const c = await getCert(store, ctx.account, input.ServerCertificateName);
      const page = pageArray(c.tags, tagPosition(c.tags), input.Marker, input.MaxItems);
      return {
        Tags: page.items,
        IsTruncated: page.isTruncated,
        ...(page.marker !== undefined && { Marker: page.marker }),
      };
    },
  };
}
