/**
 * Console passwords (login profiles) and the account password policy they must meet, on
 * CreateLoginProfile, UpdateLoginProfile and ChangePassword. Passwords are kept as scrypt
 * hashes only (with the last few, for PasswordReusePrevention).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import {
  EntityAlreadyExistsException,
  InvalidInputException,
  InvalidUserTypeException,
  NoSuchEntityException,
  PasswordPolicyViolationException,
} from '../../api/iam/errors.js';
import type { IamOperations } from '../../api/iam/operations.js';
import type { PasswordPolicy } from '../../api/iam/types.js';
import type { MetadataOps } from '../../storage/types.js';
import { timestamp, type IamDeps } from './common.js';
import { getUser } from './owners.js';
import { nameKey, T } from './store.js';

export interface LoginProfileRecord {
  user: string;
  created: string;
  resetRequired: boolean;
  /** `salt:hash` (hex), newest first; [0] is the current password. */
  hashes: string[];
  changed: string;
}

type LoginOps = Pick<
  IamOperations,
  | 'CreateLoginProfile'
  | 'GetLoginProfile'
  | 'UpdateLoginProfile'
  | 'DeleteLoginProfile'
  | 'ChangePassword'
  | 'UpdateAccountPasswordPolicy'
  | 'GetAccountPasswordPolicy'
  | 'DeleteAccountPasswordPolicy'
>;

/** What GetAccountPasswordPolicy reports beside the settings given (AWS's defaults). */
const POLICY_DEFAULTS: Required<
  Pick<
    PasswordPolicy,
    | 'MinimumPasswordLength'
    | 'RequireSymbols'
    | 'RequireNumbers'
    | 'RequireUppercaseCharacters'
    | 'RequireLowercaseCharacters'
    | 'AllowUsersToChangePassword'
    | 'ExpirePasswords'
    | 'HardExpiry'
  >
> = {
  MinimumPasswordLength: 6,
  RequireSymbols: false,
  RequireNumbers: false,
  RequireUppercaseCharacters: false,
  RequireLowercaseCharacters: false,
  AllowUsersToChangePassword: false,
  ExpirePasswords: false,
  HardExpiry: false,
};
/** "! @ # $ % ^ & * ( ) _ + - = [ ] { } | '" */
const SYMBOL = /[!@#$%^&*()_+\-=[\]{}|']/;
const MAX_REMEMBERED = 24;

function hash(password: string, salt = randomBytes(16).toString('hex')): string {
  return `${salt}:${scryptSync(password, salt, 32).toString('hex')}`;
}

function matches(password: string, stored: string): boolean {
  const [salt, digest] = stored.split(':');
  const candidate = scryptSync(password, salt ?? '', 32);
  return timingSafeEqual(candidate, Buffer.from(digest ?? '', 'hex'));
}

export const passwordPolicyKey = (account: string) => account;

async function policyOf(ops: MetadataOps, account: string): Promise<PasswordPolicy | undefined> {
  return ops.get<PasswordPolicy>(T.passwordPolicy, passwordPolicyKey(account));
}

/**
 * The policy's refusal of a password, or AWS's default rule when the account has none:
 * "a minimum of eight characters and a minimum of three of the following mix of character
 * types: uppercase, lowercase, numbers, and … symbols".
 */
function violation(
  password: string,
  policy: PasswordPolicy | undefined,
  previous: readonly string[],
): string | undefined {
  const classes = [/[A-Z]/, /[a-z]/, /[0-9]/, SYMBOL].filter((re) => re.test(password)).length;
  if (!policy) {
    if (password.length < 8 || classes < 3) {
      return 'Password does not conform to the account password policy.';
    }
    return undefined;
  }
  const p = { ...POLICY_DEFAULTS, ...policy };
  if (password.length < p.MinimumPasswordLength) {
    return `Password should have a minimum length of ${p.MinimumPasswordLength}`;
  }
  if (p.RequireUppercaseCharacters && !/[A-Z]/.test(password)) {
    return 'Password should have at least one uppercase letter';
  }
  if (p.RequireLowercaseCharacters && !/[a-z]/.test(password)) {
    return 'Password should have at least one lowercase letter';
  }
  if (p.RequireNumbers && !/[0-9]/.test(password)) {
    return 'Password should have at least one number';
  }
  if (p.RequireSymbols && !SYMBOL.test(password)) {
    return 'Password should have at least one symbol';
  }
  const reuse = p.PasswordReusePrevention ?? 0;
  if (reuse > 0 && previous.slice(0, reuse).some((h) => matches(password, h))) {
    return 'Password was used previously and cannot be reused';
  }
  return undefined;
}

async function checkPassword(
  ops: MetadataOps,
  account: string,
  password: string,
  previous: readonly string[] = [],
): Promise<void> {
  const refused = violation(password, await policyOf(ops, account), previous);
  if (refused !== undefined) throw new PasswordPolicyViolationException(refused);
}

const profileKey = (account: string, user: string) => nameKey(account, user);

async function getProfile(ops: MetadataOps, account: string, user: string) {
  const p = await ops.get<LoginProfileRecord>(T.loginProfiles, profileKey(account, user));
  if (!p) throw new NoSuchEntityException(`Login Profile for User ${user} cannot be found.`);
  return p;
}

export function loginProfileOperations(deps: IamDeps): LoginOps {
  const { store } = deps;
  const callerUser = (arn: string): string => {
    const at = arn.indexOf(':user/');
    if (at < 0) {
      throw new InvalidUserTypeException('Only IAM Users can change their own password.');
    }
    return arn.slice(arn.lastIndexOf('/') + 1);
  };

  return {
    async CreateLoginProfile(input, ctx) {
      const userName = input.UserName ?? callerUser(ctx.principal.arn);
      if (input.Password === undefined) {
        throw new InvalidInputException('Password is required to create a login profile.');
      }
      const password = input.Password;
      return store.transaction(async (tx) => {
        const user = await getUser(tx, ctx.account, userName);
        await checkPassword(tx, ctx.account, password);
        const now = timestamp(deps);
        const p: LoginProfileRecord = {
          user: user.name,
          created: now,
          changed: now,
          resetRequired: input.PasswordResetRequired ?? false,
          hashes: [hash(password)],
        };
        if (!(await tx.insert(T.loginProfiles, profileKey(ctx.account, user.name), p))) {
          throw new EntityAlreadyExistsException(
            `Login Profile for user ${user.name} already exists.`,
          );
        }
        return {
          LoginProfile: {
            UserName: user.name,
            CreateDate: new Date(p.created),
            PasswordResetRequired: p.resetRequired,
          },
        };
      });
    },

    async GetLoginProfile(input, ctx) {
      const userName = input.UserName ?? callerUser(ctx.principal.arn);
      const user = await getUser(store, ctx.account, userName);
      const p = await getProfile(store, ctx.account, user.name);
      return {
        LoginProfile: {
          UserName: p.user,
          CreateDate: new Date(p.created),
          PasswordResetRequired: p.resetRequired,
        },
      };
    },

    async UpdateLoginProfile(input, ctx) {
      const userName = input.UserName ?? callerUser(ctx.principal.arn);
      await store.transaction(async (tx) => {
        const user = await getUser(tx, ctx.account, userName);
        const p = await getProfile(tx, ctx.account, user.name);
        if (input.Password !== undefined) {
          await checkPassword(tx, ctx.account, input.Password, p.hashes);
          p.hashes = [hash(input.Password), ...p.hashes].slice(0, MAX_REMEMBERED);
          p.changed = timestamp(deps);
        }
        if (input.PasswordResetRequired !== undefined)
          p.resetRequired = input.PasswordResetRequired;
        await tx.put(T.loginProfiles, profileKey(ctx.account, user.name), p);
      });
    },

    async DeleteLoginProfile(input, ctx) {
      const userName = input.UserName ?? callerUser(ctx.principal.arn);
      await store.transaction(async (tx) => {
        const user = await getUser(tx, ctx.account, userName);
        await getProfile(tx, ctx.account, user.name);
        await tx.delete(T.loginProfiles, profileKey(ctx.account, user.name));
      });
    },

    async ChangePassword(input, ctx) {
      const userName = callerUser(ctx.principal.arn);
      await store.transaction(async (tx) => {
        const p = await getProfile(tx, ctx.account, userName);
        if (!matches(input.OldPassword, p.hashes[0] ?? ':')) {
          throw new InvalidInputException('The old password was incorrect.');
        }
        await checkPassword(tx, ctx.account, input.NewPassword, p.hashes);
        p.hashes = [hash(input.NewPassword), ...p.hashes].slice(0, MAX_REMEMBERED);
        p.changed = timestamp(deps);
        p.resetRequired = false;
        await tx.put(T.loginProfiles, profileKey(ctx.account, p.user), p);
      });
    },

    async UpdateAccountPasswordPolicy(input, ctx) {
      const policy: PasswordPolicy = {};
      for (const [k, v] of Object.entries(input) as [keyof PasswordPolicy, unknown][]) {
        if (v !== undefined) (policy as Record<string, unknown>)[k] = v;
      }
      if (policy.MaxPasswordAge !== undefined && policy.MaxPasswordAge > 0) {
        policy.ExpirePasswords = true;
      }
      await store.transaction((tx) =>
        tx.put(T.passwordPolicy, passwordPolicyKey(ctx.account), policy),
      );
    },

    async GetAccountPasswordPolicy(_input, ctx) {
      const policy = await policyOf(store, ctx.account);
      if (!policy) {
        throw new NoSuchEntityException(
          `The Password Policy with domain name ${ctx.account} cannot be found.`,
        );
      }
      return { PasswordPolicy: { ...POLICY_DEFAULTS, ...policy } };
    },

    async DeleteAccountPasswordPolicy(_input, ctx) {
      await store.transaction(async (tx) => {
        if (!(await policyOf(tx, ctx.account))) {
          throw new NoSuchEntityException(
            `The account policy with name PasswordPolicy cannot be found.`,
          );
        }
        await tx.delete(T.passwordPolicy, passwordPolicyKey(ctx.account));
      });
    },
  };
}
