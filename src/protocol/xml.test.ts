import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MalformedXml, escapeXml, parseXmlDocument } from './xml.js';
import { parseTimestamp, toHttpDate, toIso8601 } from './timestamps.js';

test('escapeXml: markup, CR, and characters XML 1.0 cannot carry', () => {
  assert.equal(escapeXml('plain text ü 😀'), 'plain text ü 😀');
  assert.equal(escapeXml('<a href="x">&</a>'), '&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;');
  assert.equal(escapeXml('line1\r\nline2\ttab'), 'line1&#xD;\nline2\ttab');
  assert.equal(
    escapeXml('nul\u0000 bell\u0007 vt\u000B ffff\uFFFF'),
    'nul\uFFFD bell\uFFFD vt\uFFFD ffff\uFFFD',
  );
  assert.equal(
    escapeXml('lone \uD800 low \uDC00 pair \uD83D\uDE00'),
    'lone \uFFFD low \uFFFD pair 😀',
  );
});

test('parseXmlDocument: root element, namespaces stripped, entities, CDATA', () => {
  const doc = parseXmlDocument(
    '<?xml version="1.0"?><s3:Root xmlns:s3="urn:x" a="1"><s3:K>a&amp;b&#x1F600;&#13;</s3:K><C><![CDATA[<x>]]></C></s3:Root>',
  );
  assert.equal(doc.name, 'Root');
  assert.deepEqual(doc.value, { K: 'a&b😀\r', C: '<x>', '@_a': '1' });
  for (const bad of ['', '<a>', '<a></b>', 'text', '<a/><b/>', '<!DOCTYPE a><a/>']) {
    assert.throws(() => parseXmlDocument(bad), MalformedXml, JSON.stringify(bad));
  }
});

test('timestamps: formats and lenient parsing', () => {
  const d = new Date('2024-01-01T00:00:00Z');
  assert.equal(toIso8601(d), '2024-01-01T00:00:00Z');
  assert.equal(toIso8601(new Date(1704067200123)), '2024-01-01T00:00:00.123Z');
  assert.equal(toHttpDate(d), 'Mon, 01 Jan 2024 00:00:00 GMT');
  assert.deepEqual(parseTimestamp(1704067200.5), new Date(1704067200500));
  assert.deepEqual(parseTimestamp('1704067200'), d);
  assert.deepEqual(parseTimestamp('2024-01-01T01:00:00+01:00'), d);
  assert.deepEqual(parseTimestamp('Mon, 01 Jan 2024 00:00:00 GMT'), d);
  assert.equal(parseTimestamp('yesterday'), undefined);
  assert.equal(parseTimestamp(''), undefined);
});
