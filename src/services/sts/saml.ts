/**
 * AssumeRoleWithSAML: credentials for the holder of a SAML 2.0 response signed by an IdP
 * registered in IAM as a SAML provider, for a role whose trust policy allows it. Like web
 * identity federation it arrives unsigned ("Calling AssumeRoleWithSAML does not require
 * the use of AWS security credentials"): the assertion is the proof.
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithSAML.html
 *
 * Checked as AWS documents (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_saml.html):
 * the XML signature against the provider's metadata certificates ("Response signature
 * invalid"), the Issuer against its entity ID, the audience (`https://signin.aws.amazon.com/saml`),
 * the validity window, the RoleSessionName attribute, the Role attribute naming this
 * role and provider, and the trust policy with the `saml:*` keys.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-saml
 */
import { createHash } from 'node:crypto';
import { ExpiredTokenException, InvalidIdentityTokenException } from '../../api/sts/errors.js';
import type { StsOperations } from '../../api/sts/operations.js';
import { RequestFacts } from '../../policy/context.js';
import { verifyResponse, type SamlAssertion } from '../../shared/saml.js';
import {
  accessDenied,
  checkRoleDuration,
  roleArnAccount,
  roleSession,
  type StsDeps,
  trustAllowsFederated,
} from './common.js';
import { packedPolicySize, sessionContext } from './tokens.js';

const DEFAULT_DURATION = 3600;
const ATTR = 'https://aws.amazon.com/SAML/Attributes/';
/** Audiences AWS's sign-in endpoint answers to (global, regional, and the URN form). */
const AUDIENCE =
  /^(?:https:\/\/(?:[a-z0-9-]+\.)?signin\.aws\.amazon\.com\/saml|urn:amazon:webservices)$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
/** Clock skew AWS tolerates on NotBefore / NotOnOrAfter. */
const SKEW_MS = 5 * 60_000;

const NAME_ID_FORMAT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:';

/** eduPerson and X.500 attributes by OID, as the `saml:` keys AWS names them. */
const OID_KEYS: Record<string, string> = {
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.1': 'saml:edupersonaffiliation',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.2': 'saml:edupersonnickname',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.6': 'saml:edupersonprincipalname',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.7': 'saml:edupersonentitlement',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.9': 'saml:edupersonscopedaffiliation',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.10': 'saml:edupersontargetedid',
  'urn:oid:2.5.4.3': 'saml:cn',
  'urn:oid:2.5.4.4': 'saml:sn',
  'urn:oid:2.5.4.42': 'saml:givenName',
  'urn:oid:2.16.840.1.113730.3.1.241': 'saml:displayName',
  'urn:oid:0.9.2342.19200300.100.1.1': 'saml:uid',
  'urn:oid:0.9.2342.19200300.100.1.3': 'saml:mail',
  'urn:oid:2.5.4.10': 'saml:organizationName',
};

/** "persistent" / "transient" for those formats, else the format as sent. */
function subjectType(format: string | undefined): string | undefined {
  if (format === `${NAME_ID_FORMAT}persistent`) return 'persistent';
  if (format === `${NAME_ID_FORMAT}transient`) return 'transient';
  return format;
}

/** Whether a Role attribute value ("roleArn,providerArn" in either order) names both. */
function namesRole(values: readonly string[], roleArn: string, providerArn: string): boolean {
  return values.some((v) => {
    const parts = v.split(',').map((s) => s.trim());
    return parts.length === 2 && parts.includes(roleArn) && parts.includes(providerArn);
  });
}

export function samlOperations(deps: StsDeps): Pick<StsOperations, 'AssumeRoleWithSAML'> {
  const now = deps.now ?? Date.now;
  const invalid = (message: string) => new InvalidIdentityTokenException(message);

  return {
    async AssumeRoleWithSAML(input) {
      const denied = () => accessDenied('Not authorized to perform sts:AssumeRoleWithSAML');
      const account = roleArnAccount(input.RoleArn);
      if (account === undefined) throw denied();
      const provider = await deps.iam.findSamlProvider(account, input.PrincipalArn);
      if (!provider) throw invalid("Specified provider doesn't exist.");

      const xml = Buffer.from(input.SAMLAssertion, 'base64').toString('utf8');
      const result = verifyResponse(xml, provider.certificates);
      if (!result.ok) {
        throw result.reason === 'signature'
          ? invalid('Response signature invalid')
          : invalid('Invalid SAML response');
      }
      const a: SamlAssertion = result.assertion;
      if (a.issuer !== provider.entityId) throw invalid('Issuer not present in specified provider');
      if (!a.audiences.some((aud) => AUDIENCE.test(aud))) {
        throw invalid('Response does not contain the required audience.');
      }
      const at = now();
      if (a.notOnOrAfter && at >= a.notOnOrAfter.getTime() + SKEW_MS) {
        throw new ExpiredTokenException('Response is expired');
      }
      if (a.notBefore && at < a.notBefore.getTime() - SKEW_MS) {
        throw invalid('Response is not yet valid');
      }
      const sessionName = a.attributes.get(`${ATTR}RoleSessionName`)?.[0];
      if (sessionName === undefined) throw invalid('RoleSessionName is required in AuthnResponse');
      if (!SESSION_NAME.test(sessionName)) {
        throw invalid('RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}');
      }
      const sourceIdentity = a.attributes.get(`${ATTR}SourceIdentity`)?.[0];
      if (
        sourceIdentity !== undefined &&
        (!SESSION_NAME.test(sourceIdentity) || sourceIdentity.startsWith('aws:'))
      ) {
        throw invalid(
          'Source Identity must match [a-zA-Z_0-9+=,.@-]{2,64} and not begin with "aws:"',
        );
      }
      if (!namesRole(a.attributes.get(`${ATTR}Role`) ?? [], input.RoleArn, provider.arn)) {
        throw denied();
      }
      const role = await deps.iam.findRole(account, input.RoleArn);
      if (!role) throw denied();

      // "BASE64 ( SHA1 ( "https://example.com/saml" + "123456789012" + "/MySAMLIdP" ) )"
      const nameQualifier = createHash('sha1')
        .update(`${a.issuer}${account}/${provider.name}`)
        .digest('base64');
      const type = subjectType(a.nameIdFormat);
      const facts = new RequestFacts([
        ['saml:aud', a.recipient],
        ['saml:iss', a.issuer],
        ['saml:sub', a.nameId],
        ['saml:sub_type', type],
        ['saml:namequalifier', nameQualifier],
        ['saml:doc', `${account}/${provider.name}`],
        ['aws:FederatedProvider', provider.arn],
        ['sts:RoleSessionName', sessionName],
        ['sts:SourceIdentity', sourceIdentity],
      ]);
      for (const [name, values] of a.attributes) {
        const key = OID_KEYS[name];
        if (key) facts.set(key, values);
      }
      const tags = [...a.attributes]
        .filter(([name]) => name.startsWith(`${ATTR}PrincipalTag:`))
        .map(([name, values]) => ({
          Key: name.slice(`${ATTR}PrincipalTag:`.length),
          Value: values[0] ?? '',
        }));
      facts.setTags('aws:RequestTag', Object.fromEntries(tags.map((t) => [t.Key, t.Value])));
      if (tags.length > 0)
        facts.set(
          'aws:TagKeys',
          tags.map((t) => t.Key),
        );

      if (!trustAllowsFederated(role, 'sts:AssumeRoleWithSAML', facts, provider.arn))
        throw denied();

      // The session lasts DurationSeconds (or an hour), cut short by SessionNotOnOrAfter.
      let duration = input.DurationSeconds ?? DEFAULT_DURATION;
      checkRoleDuration(duration, role);
      if (a.sessionNotOnOrAfter) {
        const left = Math.floor((a.sessionNotOnOrAfter.getTime() - at) / 1000);
        duration = Math.max(1, Math.min(duration, left));
      }
      const packed = packedPolicySize({ ...input, Tags: tags });
      const session = sessionContext({ ...input, Tags: tags });
      const minted = await roleSession(deps, account, role, sessionName, session, duration);
      return {
        ...minted,
        ...(packed !== undefined && { PackedPolicySize: packed }),
        Subject: a.nameId,
        SubjectType: type,
        Issuer: a.issuer,
        Audience: a.recipient,
        NameQualifier: nameQualifier,
        ...(sourceIdentity !== undefined && { SourceIdentity: sourceIdentity }),
      };
    },
  };
}
