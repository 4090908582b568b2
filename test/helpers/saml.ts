/**
 * A local SAML 2.0 identity provider for tests: a self-signed signing certificate, its
 * metadata document, and Responses whose Assertion is signed (enveloped XML-DSig, RSA-SHA256,
 * exclusive c14n) as IdPs such as AD FS or Okta sign them.
 */
import { randomUUID } from 'node:crypto';
import { generate } from 'selfsigned';
import { SignedXml } from 'xml-crypto';

export interface SamlClaims {
  roleArn: string;
  providerArn: string;
  sessionName?: string;
  subject?: string;
  recipient?: string;
  audience?: string;
  /** Seconds from now until the assertion's NotOnOrAfter (negative: already expired). */
  validFor?: number;
  attributes?: Record<string, string[]>;
}

export interface LocalSamlIdp {
  entityId: string;
  metadata: string;
  /** The signing certificate and its private key (PEM). */
  cert: string;
  key: string;
  /** A base64 samlp:Response with its Assertion signed. */
  response(claims: SamlClaims): string;
}

const certBody = (pem: string) => pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export async function localSamlIdp(
  entityId = 'https://idp.example.test/saml',
): Promise<LocalSamlIdp> {
  const pems = await generate([{ name: 'commonName', value: 'idp.example.test' }], {
    keySize: 2048,
    algorithm: 'sha256',
  });
  const metadata = `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${entityId}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:X509Data><ds:X509Certificate>${certBody(pems.cert)}</ds:X509Certificate></ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.test/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`;

  const response = (c: SamlClaims): string => {
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const until = iso(now + (c.validFor ?? 300) * 1000);
    const recipient = c.recipient ?? 'https://signin.aws.amazon.com/saml';
    const attrs: Record<string, string[]> = {
      'https://aws.amazon.com/SAML/Attributes/Role': [`${c.roleArn},${c.providerArn}`],
      ...(c.sessionName !== undefined && {
        'https://aws.amazon.com/SAML/Attributes/RoleSessionName': [c.sessionName],
      }),
      ...c.attributes,
    };
    const attributeXml = Object.entries(attrs)
      .map(
        ([name, values]) =>
          `<saml:Attribute Name="${esc(name)}">${values
            .map((v) => `<saml:AttributeValue>${esc(v)}</saml:AttributeValue>`)
            .join('')}</saml:Attribute>`,
      )
      .join('');
    const assertionId = `_${randomUUID()}`;
    const xml =
      `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_${randomUUID()}" Version="2.0" IssueInstant="${iso(now)}" Destination="${esc(recipient)}">` +
      `<saml:Issuer>${esc(entityId)}</saml:Issuer>` +
      `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
      `<saml:Assertion ID="${assertionId}" Version="2.0" IssueInstant="${iso(now)}">` +
      `<saml:Issuer>${esc(entityId)}</saml:Issuer>` +
      `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">${esc(c.subject ?? 'alice@example.test')}</saml:NameID>` +
      `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${until}" Recipient="${esc(recipient)}"/></saml:SubjectConfirmation></saml:Subject>` +
      `<saml:Conditions NotBefore="${iso(now - 60_000)}" NotOnOrAfter="${until}"><saml:AudienceRestriction><saml:Audience>${esc(c.audience ?? 'urn:amazon:webservices')}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
      `<saml:AuthnStatement AuthnInstant="${iso(now)}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
      `<saml:AttributeStatement>${attributeXml}</saml:AttributeStatement>` +
      `</saml:Assertion></samlp:Response>`;
    const sig = new SignedXml({
      privateKey: pems.private,
      publicCert: pems.cert,
      signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
      canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
    });
    sig.addReference({
      xpath: `//*[@ID='${assertionId}']`,
      transforms: [
        'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
        'http://www.w3.org/2001/10/xml-exc-c14n#',
      ],
      digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
    });
    sig.computeSignature(xml, {
      prefix: 'ds',
      location: {
        reference: `//*[@ID='${assertionId}']/*[local-name()='Issuer']`,
        action: 'after',
      },
    });
    return Buffer.from(sig.getSignedXml()).toString('base64');
  };

  return { entityId, metadata, cert: pems.cert, key: pems.private, response };
}
