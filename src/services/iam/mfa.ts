/**
 * Virtual MFA devices: created with a random seed (returned once, as base32 and as an
 * otpauth QR code), assigned to a user by EnableMFADevice with two consecutive TOTP codes,
 * resynchronised, deactivated and deleted. STS's GetSessionToken checks a device's code
 * through the directory (consumeMfaCode), so the session it mints carries
 * `aws:MultiFactorAuthPresent`.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable_virtual.html
 */
import { randomBytes } from 'node:crypto';
import QRCode from 'qrcode';
import {
  DeleteConflictException,
  EntityAlreadyExistsException,
  InvalidAuthenticationCodeException,
  LimitExceededException,
  NoSuchEntityException,
} from '../../api/iam/errors.js';
import type { IamOperations } from '../../api/iam/operations.js';
import type { Tag } from '../../api/iam/types.js';
import { buildArn, parseArn } from '../../shared/arn.js';
import type { RequestContext } from '../../shared/context.js';
import { base32Decode, base32Encode, stepAt, totp } from '../../shared/totp.js';
import type { MetadataOps, MetadataStore } from '../../storage/types.js';
import { timestamp, type IamDeps } from './common.js';
import { getUser, userOutput } from './owners.js';
import { pageArray } from './paging.js';
import { tagPosition } from './roles.js';
import { T } from './store.js';
import { checkTags, mergeTags, removeTags } from './tags.js';

export interface MfaDeviceRecord {
  serial: string;
  name: string;
  path: string;
  /** The seed, base32. */
  seed: string;
  created: string;
  /** The user it is assigned to (name as created), once enabled. */
  user?: string;
  enabled?: string;
  tags: Tag[];
  /** The newest time step whose code was accepted: a code is good once. */
  lastStep?: number;
}

type MfaOps = Pick<
  IamOperations,
  | 'CreateVirtualMFADevice'
  | 'DeleteVirtualMFADevice'
  | 'ListVirtualMFADevices'
  | 'EnableMFADevice'
  | 'ResyncMFADevice'
  | 'DeactivateMFADevice'
  | 'ListMFADevices'
  | 'GetMFADevice'
  | 'TagMFADevice'
  | 'UntagMFADevice'
  | 'ListMFADeviceTags'
>;

/** "You can register up to 8 MFA devices of any combination … with your … IAM users." */
const MAX_PER_USER = 8;
/** How far (in 30 s steps) codes may drift from this clock when enabling or resynchronising. */
const SYNC_WINDOW = 10;
/** How far a sign-in code may drift. */
const USE_WINDOW = 1;

const deviceKey = (account: string, path: string, name: string) =>
  `${account}/${(path + name).toLowerCase()}`;

/** The key of a virtual device's serial number (its ARN) in the caller's account. */
function serialKey(account: string, serial: string): string | undefined {
  const parsed = parseArn(serial);
  if (parsed?.service !== 'iam' || parsed.account !== account) return undefined;
  if (!parsed.resource.startsWith('mfa/')) return undefined;
  return `${account}/${parsed.resource.slice(3).toLowerCase()}`;
}

async function findDevice(
  ops: MetadataOps,
  account: string,
  serial: string,
): Promise<MfaDeviceRecord | undefined> {
  const key = serialKey(account, serial);
  const found = key === undefined ? undefined : await ops.get<MfaDeviceRecord>(T.mfaDevices, key);
  return found?.serial === serial ? found : undefined;
}

async function getDevice(ops: MetadataOps, account: string, serial: string) {
  const d = await findDevice(ops, account, serial);
  if (!d)
    throw new NoSuchEntityException(`VirtualMFADevice with serial number ${serial} doesn't exist.`);
  return d;
}

/** The step of the first of two consecutive codes within `window` steps of now, if any. */
function consecutive(seed: Buffer, now: number, code1: string, code2: string, window: number) {
  const current = stepAt(now);
  for (let s = current - window; s <= current + window; s++) {
    if (totp(seed, s) === code1 && totp(seed, s + 1) === code2) return s + 1;
  }
  return undefined;
}

/**
 * Checks a sign-in code of the device assigned to `userName` and uses it up (a code is
 * accepted once). False when the device is not the user's or the code is wrong or used.
 */
export function consumeMfaCode(
  store: MetadataStore,
  now: number,
  account: string,
  userName: string,
  serial: string,
  code: string,
): Promise<boolean> {
  return store.transaction(async (tx) => {
    const d = await findDevice(tx, account, serial);
    if (!d?.user || d.user.toLowerCase() !== userName.toLowerCase()) return false;
    const seed = base32Decode(d.seed);
    const current = stepAt(now);
    for (let s = current - USE_WINDOW; s <= current + USE_WINDOW; s++) {
      if (s > (d.lastStep ?? -1) && totp(seed, s) === code) {
        d.lastStep = s;
        await tx.put(T.mfaDevices, serialKey(account, serial) ?? '', d);
        return true;
      }
    }
    return false;
  });
}

/** The user a call names, else the caller (an IAM user). */
function userOrCaller(name: string | undefined, ctx: RequestContext): string | undefined {
  if (name !== undefined) return name;
  const at = ctx.principal.arn.indexOf(':user/');
  return at < 0 ? undefined : ctx.principal.arn.slice(ctx.principal.arn.lastIndexOf('/') + 1);
}

export function mfaOperations(deps: IamDeps): MfaOps {
  const { store } = deps;
  const now = () => deps.now().getTime();
  const invalidCode = () =>
    new InvalidAuthenticationCodeException('Authentication code for device is not valid.');
  const update = (account: string, serial: string, change: (d: MfaDeviceRecord) => void) =>
    store.transaction(async (tx) => {
      const d = await getDevice(tx, account, serial);
      change(d);
      await tx.put(T.mfaDevices, deviceKey(account, d.path, d.name), d);
    });
  const devices = async (account: string) =>
    (await store.list<MfaDeviceRecord>(T.mfaDevices, { prefix: `${account}/` })).map(
      (r) => r.value,
    );

  return {
    async CreateVirtualMFADevice(input, ctx) {
      const path = input.Path ?? '/';
      const seed = randomBytes(40);
      const d: MfaDeviceRecord = {
        serial: buildArn('iam', '', ctx.account, `mfa${path}${input.VirtualMFADeviceName}`),
        name: input.VirtualMFADeviceName,
        path,
        seed: base32Encode(seed),
        created: timestamp(deps),
        tags: checkTags(input.Tags),
      };
      if (!(await store.insert(T.mfaDevices, deviceKey(ctx.account, path, d.name), d))) {
        throw new EntityAlreadyExistsException(
          'MFADevice entity at the same path and name already exists.',
        );
      }
      // What authenticator apps scan: otpauth://totp/<issuer>:<name>@<account>?secret=…
      const label = encodeURIComponent(`Amazon Web Services:${d.name}@${ctx.account}`);
      const uri = `otpauth://totp/${label}?secret=${d.seed}&issuer=Amazon%20Web%20Services`;
      return {
        VirtualMFADevice: {
          SerialNumber: d.serial,
          Base32StringSeed: Buffer.from(d.seed),
          QRCodePNG: await QRCode.toBuffer(uri, { type: 'png' }),
          ...(d.tags.length > 0 && { Tags: d.tags }),
        },
      };
    },

    async DeleteVirtualMFADevice(input, ctx) {
      await store.transaction(async (tx) => {
        const d = await getDevice(tx, ctx.account, input.SerialNumber);
        if (d.user !== undefined) throw new DeleteConflictException('MFA Device is still in use');
        await tx.delete(T.mfaDevices, deviceKey(ctx.account, d.path, d.name));
      });
    },

    async ListVirtualMFADevices(input, ctx) {
      const status = input.AssignmentStatus ?? 'Any';
      const all = (await devices(ctx.account)).filter(
        (d) => status === 'Any' || (status === 'Assigned') === (d.user !== undefined),
      );
      const page = pageArray(
        all,
        (d) => deviceKey(ctx.account, d.path, d.name),
        input.Marker,
        input.MaxItems,
      );
      const users = new Map<string, Awaited<ReturnType<typeof getUser>>>();
      const VirtualMFADevices = [];
      for (const d of page.items) {
        let user;
        if (d.user !== undefined) {
          user =
            users.get(d.user) ?? (await getUser(store, ctx.account, d.user).catch(() => undefined));
          if (user) users.set(d.user, user);
        }
        VirtualMFADevices.push({
          SerialNumber: d.serial,
          ...(user && { User: userOutput(user, false) }),
          ...(d.enabled !== undefined && { EnableDate: new Date(d.enabled) }),
          ...(d.tags.length > 0 && { Tags: d.tags }),
        });
      }
      return {
        VirtualMFADevices,
        IsTruncated: page.isTruncated,
        ...(page.marker !== undefined && { Marker: page.marker }),
      };
    },

    async EnableMFADevice(input, ctx) {
      await store.transaction(async (tx) => {
        const user = await getUser(tx, ctx.account, input.UserName);
        const d = await getDevice(tx, ctx.account, input.SerialNumber);
        if (d.user !== undefined)
          throw new EntityAlreadyExistsException('MFA Device is already in use.');
        const own = (
          await tx.list<MfaDeviceRecord>(T.mfaDevices, { prefix: `${ctx.account}/` })
        ).filter((r) => r.value.user?.toLowerCase() === user.name.toLowerCase()).length;
        if (own >= MAX_PER_USER) {
          throw new LimitExceededException(
            `Cannot exceed quota for MFADevicesPerUser: ${MAX_PER_USER}`,
          );
        }
        const step = consecutive(
          base32Decode(d.seed),
          now(),
          input.AuthenticationCode1,
          input.AuthenticationCode2,
          SYNC_WINDOW,
        );
        if (step === undefined) throw invalidCode();
        d.user = user.name;
        d.enabled = timestamp(deps);
        d.lastStep = step;
        await tx.put(T.mfaDevices, deviceKey(ctx.account, d.path, d.name), d);
      });
    },

    async ResyncMFADevice(input, ctx) {
      await store.transaction(async (tx) => {
        const user = await getUser(tx, ctx.account, input.UserName);
        const d = await getDevice(tx, ctx.account, input.SerialNumber);
        if (d.user?.toLowerCase() !== user.name.toLowerCase()) {
          throw new NoSuchEntityException(
            `MFA Device with serial number ${input.SerialNumber} does not exist.`,
          );
        }
        const step = consecutive(
          base32Decode(d.seed),
          now(),
          input.AuthenticationCode1,
          input.AuthenticationCode2,
          SYNC_WINDOW,
        );
        if (step === undefined) throw invalidCode();
        d.lastStep = step;
        await tx.put(T.mfaDevices, deviceKey(ctx.account, d.path, d.name), d);
      });
    },

    async DeactivateMFADevice(input, ctx) {
      const userName = userOrCaller(input.UserName, ctx);
      await store.transaction(async (tx) => {
        const d = await findDevice(tx, ctx.account, input.SerialNumber);
        const user = userName === undefined ? undefined : await getUser(tx, ctx.account, userName);
        if (!d?.user || (user && d.user.toLowerCase() !== user.name.toLowerCase())) {
          throw new NoSuchEntityException(
            `MFA Device with serial number ${input.SerialNumber} does not exist.`,
          );
        }
        delete d.user;
        delete d.enabled;
        await tx.put(T.mfaDevices, deviceKey(ctx.account, d.path, d.name), d);
      });
    },

    async ListMFADevices(input, ctx) {
      const userName = userOrCaller(input.UserName, ctx);
      const user = userName === undefined ? undefined : await getUser(store, ctx.account, userName);
      const mine = (await devices(ctx.account)).filter(
        (d) => d.user !== undefined && (!user || d.user.toLowerCase() === user.name.toLowerCase()),
      );
      const page = pageArray(
        mine,
        (d) => deviceKey(ctx.account, d.path, d.name),
        input.Marker,
        input.MaxItems,
      );
      return {
        MFADevices: page.items.map((d) => ({
          UserName: d.user ?? '',
          SerialNumber: d.serial,
          EnableDate: new Date(d.enabled ?? d.created),
        })),
        IsTruncated: page.isTruncated,
        ...(page.marker !== undefined && { Marker: page.marker }),
      };
    },

    async GetMFADevice(input, ctx) {
      const d = await findDevice(store, ctx.account, input.SerialNumber);
      const userName = userOrCaller(input.UserName, ctx);
      if (!d?.user || (userName !== undefined && d.user.toLowerCase() !== userName.toLowerCase())) {
        throw new NoSuchEntityException(
          `MFA Device with serial number ${input.SerialNumber} does not exist.`,
        );
      }
      return {
        UserName: d.user,
        SerialNumber: d.serial,
        EnableDate: new Date(d.enabled ?? d.created),
      };
    },

    async TagMFADevice(input, ctx) {
      await update(ctx.account, input.SerialNumber, (d) => {
        d.tags = mergeTags(d.tags, input.Tags, 'MFADevice');
      });
    },

    async UntagMFADevice(input, ctx) {
      await update(ctx.account, input.SerialNumber, (d) => {
        d.tags = removeTags(d.tags, input.TagKeys);
      });
    },

    async ListMFADeviceTags(input, ctx) {
      const d = await getDevice(store, ctx.account, input.SerialNumber);
      const page = pageArray(d.tags, tagPosition(d.tags), input.Marker, input.MaxItems);
      return {
        Tags: page.items,
        IsTruncated: page.isTruncated,
        ...(page.marker !== undefined && { Marker: page.marker }),
      };
    },
  };
}
