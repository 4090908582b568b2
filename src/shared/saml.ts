/**
 * SAML 2.0 documents as IAM and STS read them: an identity provider's metadata (its entity
 * ID and signing certificates) and a signed `samlp:Response` (its assertion's claims once
 * the XML signature checks out against one of those certificates).
 * https://docs.oasis-open.org/security/saml/v2.0/saml-metadata-2.0-os.pdf
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_saml_assertions.html
 */
import { X509Certificate } from 'node:crypto';
import { DOMParser, type Document, type Element } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';

export const NS = {
  metadata: 'urn:oasis:names:tc:SAML:2.0:metadata',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
} as const;

export interface SamlMetadata {
  entityId: string;
  /** The IdP's signing certificates as PEM. */
  certificates: string[];
  validUntil?: Date;
}

/** Parses XML, undefined when it is not well-formed (xmldom reports, never throws, by default). */
export function parseXml(xml: string): Document | undefined {
  let failed = false;
  const doc = (() => {
    try {
      return new DOMParser({
        onError: (level) => {
          if (level !== 'warning') failed = true;
        },
      }).parseFromString(xml, 'text/xml');
    } catch {
      failed = true;
      return undefined;
    }
  })();
  return failed || !doc?.documentElement ? undefined : doc;
}

/** Element children of `parent` named `local` in namespace `ns`. */
export function childrenNamed(parent: Element, ns: string, local: string): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1) {
      const e = n as Element;
      if (e.namespaceURI === ns && e.localName === local) out.push(e);
    }
  }
  return out;
}

export const childNamed = (parent: Element, ns: string, local: string): Element | undefined =>
  childrenNamed(parent, ns, local)[0];

const text = (e: Element | undefined): string | undefined => e?.textContent?.trim() || undefined;

function toPem(base64: string): string {
  const body = base64.replace(/\s+/g, '');
  const lines = body.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** The IdP's entity ID and signing certificates; undefined when the metadata cannot be used. */
export function parseMetadata(xml: string): SamlMetadata | undefined {
  const doc = parseXml(xml);
  let entity = doc?.documentElement ?? undefined;
  if (entity?.namespaceURI === NS.metadata && entity.localName === 'EntitiesDescriptor') {
    entity = childNamed(entity, NS.metadata, 'EntityDescriptor');
  }
  if (!entity || entity.namespaceURI !== NS.metadata || entity.localName !== 'EntityDescriptor') {
    return undefined;
  }
  const entityId = entity.getAttribute('entityID');
  const idp = childNamed(entity, NS.metadata, 'IDPSSODescriptor');
  if (!entityId || !idp) return undefined;
  const certificates: string[] = [];
  for (const kd of childrenNamed(idp, NS.metadata, 'KeyDescriptor')) {
    const use = kd.getAttribute('use');
    if (use && use !== 'signing') continue;
    for (const c of kd.getElementsByTagNameNS(NS.dsig, 'X509Certificate')) {
      const pem = toPem(c.textContent ?? '');
      try {
        new X509Certificate(pem);
      } catch {
        return undefined;
      }
      certificates.push(pem);
    }
  }
  if (certificates.length === 0) return undefined;
  const until = entity.getAttribute('validUntil');
  const validUntil = until ? new Date(until) : undefined;
  return {
    entityId,
    certificates,
    ...(validUntil && !Number.isNaN(validUntil.getTime()) && { validUntil }),
  };
}

export interface SamlAssertion {
  issuer?: string;
  nameId?: string;
  nameIdFormat?: string;
  /** SubjectConfirmationData's Recipient: saml:aud. */
  recipient?: string;
  audiences: string[];
  notBefore?: Date;
  /** The earliest NotOnOrAfter of the Conditions and the subject confirmation. */
  notOnOrAfter?: Date;
  /** AuthnStatement's SessionNotOnOrAfter. */
  sessionNotOnOrAfter?: Date;
  /** Attribute values by attribute Name. */
  attributes: Map<string, string[]>;
}

export type SamlResult =
  { ok: true; assertion: SamlAssertion } | { ok: false; reason: 'malformed' | 'signature' };

const date = (s: string | null | undefined): Date | undefined => {
  if (!s) return undefined;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? undefined : d;
};

const earliest = (...dates: (Date | undefined)[]): Date | undefined =>
  dates.filter((d): d is Date => d !== undefined).sort((a, b) => a.getTime() - b.getTime())[0];

/**
 * Verifies a Response whose Response or Assertion element is signed (enveloped XML-DSig)
 * by one of `certificates`, and reads the claims of the assertion the signature covers:
 * claims are read from the signed XML xml-crypto hands back, never from the document as
 * sent, so a wrapped unsigned assertion cannot be slipped in beside a signed one.
 */
export function verifyResponse(xml: string, certificates: readonly string[]): SamlResult {
  const doc = parseXml(xml);
  const root = doc?.documentElement;
  if (!root || root.namespaceURI !== NS.protocol || root.localName !== 'Response') {
    return { ok: false, reason: 'malformed' };
  }
  const assertion = childNamed(root, NS.assertion, 'Assertion');
  const candidates = [
    ...childrenNamed(root, NS.dsig, 'Signature'),
    ...(assertion ? childrenNamed(assertion, NS.dsig, 'Signature') : []),
  ];
  if (!assertion) return { ok: false, reason: 'malformed' };
  for (const signature of candidates) {
    for (const cert of certificates) {
      const signed = new SignedXml({ publicCert: cert, getCertFromKeyInfo: () => null });
      let verified: string[];
      try {
        signed.loadSignature(signature);
        if (!signed.checkSignature(xml)) continue;
        verified = signed.getSignedReferences();
      } catch {
        continue;
      }
      for (const ref of verified) {
        const found = signedAssertion(ref);
        if (found) return { ok: true, assertion: readAssertion(found) };
      }
    }
  }
  return { ok: false, reason: 'signature' };
}

/** The assertion in a signed reference: the element itself, or the one in a signed Response. */
function signedAssertion(refXml: string): Element | undefined {
  const el = parseXml(refXml)?.documentElement ?? undefined;
  if (!el) return undefined;
  if (el.namespaceURI === NS.assertion && el.localName === 'Assertion') return el;
  if (el.namespaceURI === NS.protocol && el.localName === 'Response') {
    const inner = childrenNamed(el, NS.assertion, 'Assertion');
    return inner.length === 1 ? inner[0] : undefined;
  }
  return undefined;
}

function readAssertion(a: Element): SamlAssertion {
  const subject = childNamed(a, NS.assertion, 'Subject');
  const nameId = subject && childNamed(subject, NS.assertion, 'NameID');
  const confirmation = subject && childNamed(subject, NS.assertion, 'SubjectConfirmation');
  const data = confirmation && childNamed(confirmation, NS.assertion, 'SubjectConfirmationData');
  const conditions = childNamed(a, NS.assertion, 'Conditions');
  const audiences = conditions
    ? childrenNamed(conditions, NS.assertion, 'AudienceRestriction').flatMap((r) =>
        childrenNamed(r, NS.assertion, 'Audience').flatMap((e) => text(e) ?? []),
      )
    : [];
  const authn = childNamed(a, NS.assertion, 'AuthnStatement');
  const attributes = new Map<string, string[]>();
  for (const statement of childrenNamed(a, NS.assertion, 'AttributeStatement')) {
    for (const attr of childrenNamed(statement, NS.assertion, 'Attribute')) {
      const name = attr.getAttribute('Name');
      if (!name) continue;
      const values = childrenNamed(attr, NS.assertion, 'AttributeValue').map(
        (v) => v.textContent?.trim() ?? '',
      );
      attributes.set(name, [...(attributes.get(name) ?? []), ...values]);
    }
  }
  return {
    issuer: text(childNamed(a, NS.assertion, 'Issuer')),
    nameId: text(nameId),
    nameIdFormat: nameId?.getAttribute('Format') || undefined,
    recipient: data?.getAttribute('Recipient') || undefined,
    audiences,
    notBefore: date(conditions?.getAttribute('NotBefore')),
    notOnOrAfter: earliest(
      date(conditions?.getAttribute('NotOnOrAfter')),
      date(data?.getAttribute('NotOnOrAfter')),
    ),
    sessionNotOnOrAfter: date(authn?.getAttribute('SessionNotOnOrAfter')),
    attributes,
  };
}
