/**
 * A user's other credentials: SSH public keys (CodeCommit), service-specific credentials
 * (CodeCommit Git, Keyspaces, Bedrock) and X.509 signing certificates. Each is kept under
 * `<acct>/<user>/<id>` so DeleteUser can refuse while any remains, as AWS does.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_ssh-keys.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_service-specific-creds.html
 */
import { createHash, createPublicKey, randomBytes, X509Certificate } from 'node:crypto';
import {
  DuplicateCertificateException,
  DuplicateSSHPublicKeyException,
  InvalidPublicKeyException,
  LimitExceededException,
  MalformedCertificateException,
  NoSuchEntityException,
  ServiceNotSupportedException,
  UnrecognizedPublicKeyEncodingException,
} from '../../api/iam/errors.js';
import type { IamOperations } from '../../api/iam/operations.js';
import type { statusType } from '../../api/iam/types.js';
import { uniqueId } from '../../shared/aws-ids.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataOps } from '../../storage/types.js';
import { timestamp, type IamDeps } from './common.js';
import { getUser } from './owners.js';
import { T } from './store.js';

type CredOps = Pick<
  IamOperations,
  | 'UploadSSHPublicKey'
  | 'GetSSHPublicKey'
  | 'ListSSHPublicKeys'
  | 'UpdateSSHPublicKey'
  | 'DeleteSSHPublicKey'
  | 'CreateServiceSpecificCredential'
  | 'ListServiceSpecificCredentials'
  | 'UpdateServiceSpecificCredential'
  | 'ResetServiceSpecificCredential'
  | 'DeleteServiceSpecificCredential'
  | 'UploadSigningCertificate'
  | 'ListSigningCertificates'
  | 'UpdateSigningCertificate'
  | 'DeleteSigningCertificate'
>;

interface SshKeyRecord {
  id: string;
  user: string;
  body: string;
  fingerprint: string;
  status: statusType;
  uploaded: string;
}

interface ServiceCredentialRecord {
  id: string;
  user: string;
  service: string;
  serviceUserName: string;
  password: string;
  status: statusType;
  created: string;
  expires?: string;
}

interface SigningCertificateRecord {
  id: string;
  user: string;
  body: string;
  status: statusType;
  uploaded: string;
}

/** "Each IAM user can have up to 5 SSH public keys"; two credentials per service; two certificates. */
const MAX_SSH_KEYS = 5;
const MAX_PER_SERVICE = 2;
const MAX_SIGNING_CERTS = 2;
const SERVICES = new Set([
  'codecommit.amazonaws.com',
  'cassandra.amazonaws.com',
  'bedrock.amazonaws.com',
]);
export const userItemPrefix = (account: string, user: string) =>
  `${account}/${user.toLowerCase()}/`;
const itemKey = (account: string, user: string, id: string) =>
  `${userItemPrefix(account, user)}${id}`;

/** The user a call names, else the calling IAM user. */
function userOrCaller(name: string | undefined, ctx: RequestContext): string {
  if (name !== undefined) return name;
  const arn = ctx.principal.arn;
  if (!arn.includes(':user/')) {
    throw new NoSuchEntityException('The user with name  cannot be found.');
  }
  return arn.slice(arn.lastIndexOf('/') + 1);
}

/** An OpenSSH (`ssh-rsa AAAA… comment`) or PEM public key: its wire blob and SSH form. */
function parseSshKey(body: string): { blob: Buffer; ssh: string } {
  const text = body.trim();
  const m = /^(ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp\d+)\s+([A-Za-z0-9+/=]+)(\s.*)?$/.exec(text);
  if (m) {
    const blob = Buffer.from(m[2], 'base64');
    const nameLength = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
    if (blob.subarray(4, 4 + nameLength).toString() !== m[1]) {
      throw new InvalidPublicKeyException('The SSH public key provided is not valid.');
    }
    return { blob, ssh: text };
  }
  if (text.startsWith('-----BEGIN')) {
    let jwk;
    try {
      jwk = createPublicKey(text).export({ format: 'jwk' });
    } catch {
      throw new InvalidPublicKeyException('The SSH public key provided is not valid.');
    }
    if (jwk.kty !== 'RSA' || !jwk.e || !jwk.n) {
      throw new UnrecognizedPublicKeyEncodingException('Unrecognized public key encoding.');
    }
    const mpint = (b64: string) => {
      let b = Buffer.from(b64, 'base64url');
      if (b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
      return b;
    };
    const parts = [Buffer.from('ssh-rsa'), mpint(jwk.e), mpint(jwk.n)];
    const blob = Buffer.concat(
      parts.flatMap((p) => {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(p.length);
        return [len, p];
      }),
    );
    return { blob, ssh: `ssh-rsa ${blob.toString('base64')}` };
  }
  throw new UnrecognizedPublicKeyEncodingException('Unrecognized public key encoding.');
}

/** The PEM (SPKI) form of an ssh-rsa key, for Encoding=PEM. */
function sshToPem(ssh: string): string {
  const blob = Buffer.from(ssh.split(/\s+/)[1] ?? '', 'base64');
  const fields: Buffer[] = [];
  for (let at = 0; at + 4 <= blob.length;) {
    const len = blob.readUInt32BE(at);
    fields.push(blob.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  if (fields[0]?.toString() !== 'ssh-rsa' || fields.length < 3) return ssh;
  const key = createPublicKey({
    key: { kty: 'RSA', e: fields[1].toString('base64url'), n: fields[2].toString('base64url') },
    format: 'jwk',
  });
  return key.export({ format: 'pem', type: 'spki' }).toString();
}

const md5Fingerprint = (blob: Buffer) =>
  (createHash('md5').update(blob).digest('hex').match(/../g) ?? []).join(':');

export function userCredentialOperations(deps: IamDeps): CredOps {
  const { store } = deps;
  const items = <V>(ops: MetadataOps, table: string, account: string, user: string) =>
    ops
      .list<V>(table, { prefix: userItemPrefix(account, user) })
      .then((r) => r.map((x) => x.value));
  async function getItem<V>(
    ops: MetadataOps,
    table: string,
    account: string,
    user: string,
    id: string,
    missing: string,
  ): Promise<V> {
    const found = await ops.get<V>(table, itemKey(account, user, id));
    if (!found) throw new NoSuchEntityException(missing);
    return found;
  }
  const sshMissing = (id: string) => `The Public Key with id ${id} cannot be found.`;
  const credMissing = (id: string) => `No such credential ${id} exists`;
  const certMissing = (id: string) => `The Certificate with id ${id} cannot be found.`;

  /** One kind of user credential: where it is kept and how AWS says one is missing. */
  interface Kind {
    table: string;
    missing: (id: string) => string;
  }
  const SSH: Kind = { table: T.sshKeys, missing: sshMissing };
  const CRED: Kind = { table: T.serviceCredentials, missing: credMissing };
  const CERT: Kind = { table: T.signingCertificates, missing: certMissing };

  /** Changes one credential of a user in a transaction; answers what `apply` returns. */
  function change<V extends { id: string }, R>(
    kind: Kind,
    ctx: RequestContext,
    userName: string,
    id: string,
    apply: (item: V) => R,
  ): Promise<R> {
    return store.transaction(async (tx) => {
      const user = await getUser(tx, ctx.account, userName);
      const item = await getItem<V>(tx, kind.table, ctx.account, user.name, id, kind.missing(id));
      const out = apply(item);
      await tx.put(kind.table, itemKey(ctx.account, user.name, item.id), item);
      return out;
    });
  }

  async function remove(kind: Kind, ctx: RequestContext, userName: string, id: string) {
    await store.transaction(async (tx) => {
      const user = await getUser(tx, ctx.account, userName);
      await getItem(tx, kind.table, ctx.account, user.name, id, kind.missing(id));
      await tx.delete(kind.table, itemKey(ctx.account, user.name, id));
    });
  }

  return {
    async UploadSSHPublicKey(input, ctx) {
      const { blob, ssh } = parseSshKey(input.SSHPublicKeyBody);
      return store.transaction(async (tx) => {
        const user = await getUser(tx, ctx.account, input.UserName);
        const existing = await items<SshKeyRecord>(tx, T.sshKeys, ctx.account, user.name);
        const fingerprint = md5Fingerprint(blob);
        if (existing.some((k) => k.fingerprint === fingerprint)) {
          throw new DuplicateSSHPublicKeyException(
            'The SSH public key is already associated with this user.',
          );
        }
        if (existing.length >= MAX_SSH_KEYS) {
          throw new LimitExceededException(
            `Cannot exceed quota for PublicKeysPerUser: ${MAX_SSH_KEYS}`,
          );
        }
        const k: SshKeyRecord = {
          id: uniqueId('APKA'),
          user: user.name,
          body: ssh,
          fingerprint,
          status: 'Active',
          uploaded: timestamp(deps),
        };
        await tx.put(T.sshKeys, itemKey(ctx.account, user.name, k.id), k);
        return {
          SSHPublicKey: {
            UserName: k.user,
            SSHPublicKeyId: k.id,
            Fingerprint: k.fingerprint,
            SSHPublicKeyBody: k.body,
            Status: k.status,
            UploadDate: new Date(k.uploaded),
          },
        };
      });
    },

    async GetSSHPublicKey(input, ctx) {
      const user = await getUser(store, ctx.account, input.UserName);
      const k = await getItem<SshKeyRecord>(
        store,
        T.sshKeys,
        ctx.account,
        user.name,
        input.SSHPublicKeyId,
        sshMissing(input.SSHPublicKeyId),
      );
      return {
        SSHPublicKey: {
          UserName: k.user,
          SSHPublicKeyId: k.id,
          Fingerprint: k.fingerprint,
          SSHPublicKeyBody: input.Encoding === 'PEM' ? sshToPem(k.body) : k.body,
          Status: k.status,
          UploadDate: new Date(k.uploaded),
        },
      };
    },

    async ListSSHPublicKeys(input, ctx) {
      const userName = userOrCaller(input.UserName, ctx);
      const user = await getUser(store, ctx.account, userName);
      const all = await items<SshKeyRecord>(store, T.sshKeys, ctx.account, user.name);
      return {
        SSHPublicKeys: all.map((k) => ({
          UserName: k.user,
          SSHPublicKeyId: k.id,
          Status: k.status,
          UploadDate: new Date(k.uploaded),
        })),
        IsTruncated: false,
      };
    },

    async UpdateSSHPublicKey(input, ctx) {
      await change(SSH, ctx, input.UserName, input.SSHPublicKeyId, (k: SshKeyRecord) => {
        k.status = input.Status;
      });
    },

    async DeleteSSHPublicKey(input, ctx) {
      await remove(SSH, ctx, input.UserName, input.SSHPublicKeyId);
    },

    async CreateServiceSpecificCredential(input, ctx) {
      if (!SERVICES.has(input.ServiceName)) {
        throw new ServiceNotSupportedException(
          `No such service ${input.ServiceName} is supported for Service Specific Credentials`,
        );
      }
      return store.transaction(async (tx) => {
        const user = await getUser(tx, ctx.account, input.UserName);
        const existing = await items<ServiceCredentialRecord>(
          tx,
          T.serviceCredentials,
          ctx.account,
          user.name,
        );
        if (existing.filter((c) => c.service === input.ServiceName).length >= MAX_PER_SERVICE) {
          throw new LimitExceededException(
            `Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: ${MAX_PER_SERVICE}`,
          );
        }
        const created = timestamp(deps);
        const c: ServiceCredentialRecord = {
          id: uniqueId('ACCA'),
          user: user.name,
          service: input.ServiceName,
          serviceUserName: `${user.name}-at-${ctx.account}`,
          password: randomBytes(33).toString('base64'),
          status: 'Active',
          created,
          ...(input.CredentialAgeDays !== undefined && {
            expires: new Date(
              new Date(created).getTime() + input.CredentialAgeDays * 86400_000,
            ).toISOString(),
          }),
        };
        await tx.put(T.serviceCredentials, itemKey(ctx.account, user.name, c.id), c);
        return { ServiceSpecificCredential: serviceCredential(c, true) };
      });
    },

    async ListServiceSpecificCredentials(input, ctx) {
      const userName = userOrCaller(input.UserName, ctx);
      const user = await getUser(store, ctx.account, userName);
      const all = await items<ServiceCredentialRecord>(
        store,
        T.serviceCredentials,
        ctx.account,
        user.name,
      );
      return {
        ServiceSpecificCredentials: all
          .filter((c) => input.ServiceName === undefined || c.service === input.ServiceName)
          .map((c) => serviceCredential(c, false)),
        IsTruncated: false,
      };
    },

    async UpdateServiceSpecificCredential(input, ctx) {
      const id = input.ServiceSpecificCredentialId;
      await change(
        CRED,
        ctx,
        userOrCaller(input.UserName, ctx),
        id,
        (c: ServiceCredentialRecord) => {
          c.status = input.Status;
        },
      );
    },

    async ResetServiceSpecificCredential(input, ctx) {
      const id = input.ServiceSpecificCredentialId;
      return change(
        CRED,
        ctx,
        userOrCaller(input.UserName, ctx),
        id,
        (c: ServiceCredentialRecord) => {
          c.password = randomBytes(33).toString('base64');
          return { ServiceSpecificCredential: serviceCredential(c, true) };
        },
      );
    },

    async DeleteServiceSpecificCredential(input, ctx) {
      const id = input.ServiceSpecificCredentialId;
      await remove(CRED, ctx, userOrCaller(input.UserName, ctx), id);
    },

    async UploadSigningCertificate(input, ctx) {
      const userName = userOrCaller(input.UserName, ctx);
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(input.CertificateBody);
      } catch {
        throw new MalformedCertificateException(
          'Unable to parse certificate. Please ensure the certificate is in PEM format.',
        );
      }
      return store.transaction(async (tx) => {
        const user = await getUser(tx, ctx.account, userName);
        const existing = await items<SigningCertificateRecord>(
          tx,
          T.signingCertificates,
          ctx.account,
          user.name,
        );
        const id = cert.fingerprint.replace(/:/g, '').slice(0, 32);
        if (existing.some((c) => c.id === id)) {
          throw new DuplicateCertificateException(
            'The certificate is already associated with this user.',
          );
        }
        if (existing.length >= MAX_SIGNING_CERTS) {
          throw new LimitExceededException(
            `Cannot exceed quota for SigningCertificatesPerUser: ${MAX_SIGNING_CERTS}`,
          );
        }
        const c: SigningCertificateRecord = {
          id,
          user: user.name,
          body: input.CertificateBody,
          status: 'Active',
          uploaded: timestamp(deps),
        };
        await tx.put(T.signingCertificates, itemKey(ctx.account, user.name, c.id), c);
        return { Certificate: signingCertificate(c) };
      });
    },

    async ListSigningCertificates(input, ctx) {
      const userName = userOrCaller(input.UserName, ctx);
      const user = await getUser(store, ctx.account, userName);
      const all = await items<SigningCertificateRecord>(
        store,
        T.signingCertificates,
        ctx.account,
        user.name,
      );
      return { Certificates: all.map(signingCertificate), IsTruncated: false };
    },

    async UpdateSigningCertificate(input, ctx) {
      const id = input.CertificateId;
      await change(
        CERT,
        ctx,
        userOrCaller(input.UserName, ctx),
        id,
        (c: SigningCertificateRecord) => {
          c.status = input.Status;
        },
      );
    },

    async DeleteSigningCertificate(input, ctx) {
      await remove(CERT, ctx, userOrCaller(input.UserName, ctx), input.CertificateId);
    },
  };
}

function serviceCredential(c: ServiceCredentialRecord, withSecret: boolean) {
  return {
    UserName: c.user,
    Status: c.status,
    ServiceUserName: c.serviceUserName,
    CreateDate: new Date(c.created),
    ServiceSpecificCredentialId: c.id,
    ServiceName: c.service,
    ...(c.expires !== undefined && { ExpirationDate: new Date(c.expires) }),
    ...(withSecret && { ServicePassword: c.password }),
  };
}

function signingCertificate(c: SigningCertificateRecord) {
  return {
    UserName: c.user,
    CertificateId: c.id,
    CertificateBody: c.body,
    Status: c.status,
    UploadDate: new Date(c.uploaded),
  };
}
