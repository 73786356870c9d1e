/**
 * A small JUnit XML writer (the de-facto schema CI systems read: Jenkins, GitLab, GitHub
 * reporters): `<testsuites>` → one `<testsuite>` per vector file → one `<testcase>` per step, with
 * `<failure>`, `<error>` or `<skipped>`. Written here because the project takes no new
 * dependencies; `junit-report-builder` is the package that would otherwise do it.
 *
 * Escaping follows XML 1.0 §2.4 and §2.2: `&`, `<`, `>`, `"` and `'` become entities in text and
 * attributes, tabs and line ends in attributes become character references (so they survive
 * attribute-value normalization, §3.3.3), and characters XML 1.0 cannot carry at all (C0 controls
 * other than tab/LF/CR, lone surrogates, U+FFFE/U+FFFF) are replaced by U+FFFD.
 */

/** Replaces characters XML 1.0 does not allow (§2.2 Char) with U+FFFD. */
function xmlChars(s: string): string {
  return s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** Text content: `&`, `<`, `>` escaped (and `]]>` cannot form). */
export function escapeXmlText(s: string): string {
  return xmlChars(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An attribute value for `"…"`: also quotes, and white space that normalization would eat. */
export function escapeXmlAttribute(s: string): string {
  return escapeXmlText(s).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
}

/** An element: name, attributes (undefined ones left out), children or text. */
export interface XmlElement {
  readonly name: string;
  readonly attributes?: Readonly<Record<string, string | number | undefined>>;
  readonly children?: readonly XmlElement[];
  readonly text?: string;
}

function renderElement(e: XmlElement, indent: string, out: string[]): void {
  const attrs = Object.entries(e.attributes ?? {})
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${escapeXmlAttribute(String(v))}"`)
    .join('');
  const children = e.children ?? [];
  if (children.length === 0 && (e.text === undefined || e.text === '')) {
    out.push(`${indent}<${e.name}${attrs}/>`);
    return;
  }
  if (children.length === 0) {
    out.push(`${indent}<${e.name}${attrs}>${escapeXmlText(e.text!)}</${e.name}>`);
    return;
  }
  out.push(`${indent}<${e.name}${attrs}>`);
  for (const c of children) renderElement(c, `${indent}  `, out);
  out.push(`${indent}</${e.name}>`);
}

/**
 * A document with an XML declaration.
 *
 * @example renderXml({ name: 'testsuites', children: [{ name: 'testsuite', attributes: { name: 'a & b' } }] })
 */
export function renderXml(root: XmlElement): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  renderElement(root, '', out);
  return out.join('\n') + '\n';
}
