/**
 * Key pairs: CreateKeyPair (an RSA key made here; its private key is returned once),
 * ImportKeyPair, Get/GetKeyPairs, DeleteKeyPair, and the region's default key pair
 * (`LightsailDefaultKeyPair`), made on first use, whose private key Lightsail keeps and
 * DownloadDefaultKeyPair returns again.
 * https://docs.aws.amazon.com/lightsail/latest/userguide/understanding-ssh-in-amazon-lightsail.html
 */
import type { LightsailOperations } from '../../api/lightsail/operations.js';
import type { MetadataStore } from '../../storage/types.js';
import {
  checkName,
  invalid,
  notFound,
  operation,
  scopeOf,
  tagsIn,
  type LightsailDeps,
} from './common.js';
import { makeRsaKey, parsePublicKey } from './ssh-keys.js';
import { T, keyOf, scopePrefix, type KeyPairRecord, type Scope } from './store.js';
import { keyPairView } from './views.js';

export const DEFAULT_KEY_PAIR = 'LightsailDefaultKeyPair';

type KeyPairOps = Pick<
  LightsailOperations,
  | 'CreateKeyPair'
  | 'ImportKeyPair'
  | 'GetKeyPair'
  | 'GetKeyPairs'
  | 'DeleteKeyPair'
  | 'DownloadDefaultKeyPair'
>;

/** The region's default key pair, made the first time anything needs it. */
export async function ensureDefaultKeyPair(
  store: MetadataStore,
  scope: Scope,
  now: number,
): Promise<KeyPairRecord> {
  const key = keyOf(scope, DEFAULT_KEY_PAIR);
  const have = await store.get<KeyPairRecord>(T.keyPairs, key);
  if (have) return have;
  const made = makeRsaKey(DEFAULT_KEY_PAIR);
  const rec: KeyPairRecord = {
    ...scope,
    name: DEFAULT_KEY_PAIR,
    createdAt: now,
    publicKey: made.publicKeyOpenSsh,
    fingerprint: made.fingerprint,
    tags: [],
    privateKey: made.privateKeyPem,
  };
  await store.insert(T.keyPairs, key, rec);
  return (await store.get<KeyPairRecord>(T.keyPairs, key))!;
}

export function keyPairOperations(deps: LightsailDeps): KeyPairOps {
  const { store } = deps;

  async function insert(rec: KeyPairRecord): Promise<void> {
    if (rec.name === DEFAULT_KEY_PAIR) throw invalid(`${DEFAULT_KEY_PAIR} is a reserved name.`);
    if (!(await store.insert(T.keyPairs, keyOf(rec, rec.name), rec)))
      throw invalid(`Some names are already in use: ${rec.name}`);
  }

  return {
    async CreateKeyPair(input, ctx) {
      const scope = scopeOf(ctx);
      checkName('KeyPair', input.keyPairName);
      const made = makeRsaKey(input.keyPairName);
      const now = deps.now();
      const rec: KeyPairRecord = {
        ...scope,
        name: input.keyPairName,
        createdAt: now,
        publicKey: made.publicKeyOpenSsh,
        fingerprint: made.fingerprint,
        tags: tagsIn(input.tags),
      };
      await insert(rec);
      return {
        keyPair: keyPairView(rec),
        publicKeyBase64: made.publicKeyOpenSsh,
        privateKeyBase64: made.privateKeyPem,
        operation: operation(scope, now, rec.name, 'KeyPair', 'CreateKeyPair'),
      };
    },

    async ImportKeyPair(input, ctx) {
      const scope = scopeOf(ctx);
      checkName('KeyPair', input.keyPairName);
      const parsed = parsePublicKey(input.publicKeyBase64);
      if (!parsed) throw invalid('The public key is not a valid OpenSSH public key.');
      const now = deps.now();
      await insert({
        ...scope,
        name: input.keyPairName,
        createdAt: now,
        publicKey: parsed.line,
        fingerprint: parsed.fingerprint,
        tags: [],
      });
      return { operation: operation(scope, now, input.keyPairName, 'KeyPair', 'ImportKeyPair') };
    },

    async GetKeyPair(input, ctx) {
      const scope = scopeOf(ctx);
      const rec = await store.get<KeyPairRecord>(T.keyPairs, keyOf(scope, input.keyPairName));
      if (!rec) throw notFound('KeyPair', input.keyPairName);
      return { keyPair: keyPairView(rec) };
    },

    async GetKeyPairs(input, ctx) {
      const rows = await store.list<KeyPairRecord>(T.keyPairs, {
        prefix: scopePrefix(scopeOf(ctx)),
      });
      return {
        keyPairs: rows
          .map((r) => r.value)
          .filter((k) => input.includeDefaultKeyPair || k.name !== DEFAULT_KEY_PAIR)
          .map(keyPairView),
      };
    },

    async DeleteKeyPair(input, ctx) {
      const scope = scopeOf(ctx);
      await store.transaction(async (tx) => {
        const key = keyOf(scope, input.keyPairName);
        if (!(await tx.get(T.keyPairs, key))) throw notFound('KeyPair', input.keyPairName);
        // Instances keep the public key they booted with; AWS lets the pair go regardless.
        await tx.delete(T.keyPairs, key);
      });
      return {
        operation: operation(scope, deps.now(), input.keyPairName, 'KeyPair', 'DeleteKeyPair'),
      };
    },

    async DownloadDefaultKeyPair(_input, ctx) {
      const rec = await ensureDefaultKeyPair(store, scopeOf(ctx), deps.now());
      return {
        publicKeyBase64: rec.publicKey,
        privateKeyBase64: rec.privateKey,
        createdAt: new Date(rec.createdAt),
      };
    },
  };
}
