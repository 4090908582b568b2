/**
 * Account settings: PutAccountSetting (for a principal, the caller by default),
 * PutAccountSettingDefault (every principal of the account without its own), their
 * deletion, and ListAccountSettings (explicit ones, or `effectiveSettings`: the
 * principal's, else the account default, else AWS's).
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PutAccountSetting.html
 *
 * "If you change the root user account setting, the default settings are reset for users
 * and roles that no explicit account setting was set": the root user's setting is the
 * account default.
 */
import { InvalidParameterException } from '../../api/ecs/errors.js';
import type { EcsOperations } from '../../api/ecs/operations.js';
import type { Setting, SettingName } from '../../api/ecs/types.js';
import type { RequestContext } from '../../shared/context.js';
import { scopeOf, type EcsDeps } from './common.js';
import { pageOf } from './task-definitions.js';
import { T, scopePrefix, type Scope } from './store.js';

type SettingOps = Pick<
  EcsOperations,
  'PutAccountSetting' | 'PutAccountSettingDefault' | 'DeleteAccountSetting' | 'ListAccountSettings'
>;

/** Each setting's values and AWS's default for an account that never set it. */
const SETTINGS: Record<SettingName, { values: string[]; aws: string }> = {
  serviceLongArnFormat: { values: ['enabled', 'disabled'], aws: 'enabled' },
  taskLongArnFormat: { values: ['enabled', 'disabled'], aws: 'enabled' },
  containerInstanceLongArnFormat: { values: ['enabled', 'disabled'], aws: 'enabled' },
  awsvpcTrunking: { values: ['enabled', 'disabled'], aws: 'disabled' },
  containerInsights: { values: ['enabled', 'disabled', 'enhanced'], aws: 'disabled' },
  fargateFIPSMode: { values: ['enabled', 'disabled'], aws: 'disabled' },
  tagResourceAuthorization: { values: ['on', 'off'], aws: 'on' },
  fargateTaskRetirementWaitPeriod: { values: ['0', '7', '14'], aws: '7' },
  guardDutyActivate: { values: ['on', 'off'], aws: 'off' },
  defaultLogDriverMode: { values: ['blocking', 'non-blocking'], aws: 'blocking' },
  fargateEventWindows: { values: ['enabled', 'disabled'], aws: 'disabled' },
};
const NAMES = Object.keys(SETTINGS) as SettingName[];

/** A stored setting: the account default (principal `*`) or one principal's. */
interface SettingRecord {
  name: SettingName;
  value: string;
  principalArn: string;
}

const DEFAULT = '*';
const settingKey = (s: Scope, principal: string, name: string): string =>
  `${scopePrefix(s)}${principal}|${name}`;
const rootArn = (s: Scope): string => `arn:aws:iam::${s.account}:root`;

function check(name: SettingName, value: string): void {
  const known = SETTINGS[name];
  if (!known.values.includes(value))
    throw new InvalidParameterException(
      `The value '${value}' is not valid for the account setting ${name}. Valid values: ${known.values.join(', ')}.`,
    );
}

/** The principal a request is about: the one named, or the caller; root means the default. */
function principalOf(ctx: RequestContext, named: string | undefined): string {
  const arn = named ?? ctx.principal.arn;
  return arn === rootArn(scopeOf(ctx)) ? DEFAULT : arn;
}

export function accountSettingOperations(deps: EcsDeps): SettingOps {
  const get = (s: Scope, principal: string, name: string) =>
    deps.store.get<SettingRecord>(T.accountSettings, settingKey(s, principal, name));
  const out = (s: Scope, r: SettingRecord): Setting => ({
    name: r.name,
    value: r.value,
    principalArn: r.principalArn === DEFAULT ? rootArn(s) : r.principalArn,
    type: 'user',
  });
  const put = async (s: Scope, principal: string, name: SettingName, value: string) => {
    check(name, value);
    const r: SettingRecord = { name, value, principalArn: principal };
    await deps.store.put(T.accountSettings, settingKey(s, principal, name), r);
    return out(s, r);
  };

  return {
    async PutAccountSetting(input, ctx) {
      const scope = scopeOf(ctx);
      return {
        setting: await put(scope, principalOf(ctx, input.principalArn), input.name, input.value),
      };
    },

    async PutAccountSettingDefault(input, ctx) {
      return { setting: await put(scopeOf(ctx), DEFAULT, input.name, input.value) };
    },

    async DeleteAccountSetting(input, ctx) {
      const scope = scopeOf(ctx);
      const principal = principalOf(ctx, input.principalArn);
      const r = await get(scope, principal, input.name);
      if (!r)
        throw new InvalidParameterException(
          `The account setting ${input.name} is not set for the specified principal.`,
        );
      await deps.store.delete(T.accountSettings, settingKey(scope, principal, input.name));
      return { setting: out(scope, r) };
    },

    async ListAccountSettings(input, ctx) {
      const scope = scopeOf(ctx);
      if (input.value !== undefined && input.name === undefined)
        throw new InvalidParameterException('name must be specified when value is specified.');
      const principal = principalOf(ctx, input.principalArn);
      const names = input.name ? [input.name] : NAMES;
      const settings: Setting[] = [];
      for (const name of names) {
        const own = await get(scope, principal, name);
        if (own) settings.push(out(scope, own));
        else if (input.effectiveSettings) {
          const fallback = principal === DEFAULT ? undefined : await get(scope, DEFAULT, name);
          settings.push(
            fallback
              ? out(scope, fallback)
              : {
                  name,
                  value: SETTINGS[name].aws,
                  principalArn: principal === DEFAULT ? rootArn(scope) : principal,
                  type: 'aws_managed',
                },
          );
        }
      }
      const matching = settings.filter((s) => input.value === undefined || s.value === input.value);
      const page = pageOf(matching, input.nextToken, input.maxResults);
      return { settings: page.items, ...(page.next && { nextToken: page.next }) };
    },
  };
}
