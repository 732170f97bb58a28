/**
 * The panel's HTML document. A pure function (no `vscode` import) so the extension host and the
 * Chromium tests build exactly the same page.
 *
 * CSP: nothing inline but the nonce'd script and stylesheet link, no eval, no remote origin. Chart.js
 * sizes canvases through `element.style` (CSSOM, allowed); @vscode-elements uses constructable
 * stylesheets (`adoptedStyleSheets`, allowed). Neither needs 'unsafe-inline'.
 */
export interface PanelHtmlOptions {
  /** `webview.cspSource`, e.g. `'self' https://*.vscode-cdn.net`. */
  cspSource: string;
  /** A fresh random nonce per page load (letters and digits, ≥ 16 characters). */
  nonce: string;
  /** `webview.asWebviewUri(dist/webview.js)`. */
  scriptUri: string;
  /** `webview.asWebviewUri(dist/webview.css)`. */
  styleUri: string;
  /** The document title (the panel's tab title comes from the WebviewPanel). */
  title: string;
}

/** Escapes text and double-quoted attribute values (single quotes are kept: the CSP needs them verbatim). */
function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The CSP for the panel, exported so tests can compare it. */
export function panelCsp(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ') + ';';
}

/** Host sources and 'self' only: no keyword such as 'unsafe-inline', no `;` starting another directive. */
function validCspSource(s: string): boolean {
  const tokens = s.trim().split(/\s+/);
  return tokens.length > 0 && tokens.every((t) => t === "'self'" || /^[a-z][a-z0-9+.-]*:(\/\/)?[A-Za-z0-9*.+-]*(:[0-9*]+)?(\/[^\s;,'"]*)?$/.test(t));
}

export function panelHtml(opts: PanelHtmlOptions): string {
  // A nonce or source with quotes or spaces would let content break out of the policy.
  if (!/^[A-Za-z0-9+/=_-]{16,}$/.test(opts.nonce)) throw new Error('panelHtml: the nonce must be ≥ 16 base64/alphanumeric characters');
  if (!validCspSource(opts.cspSource)) throw new Error('panelHtml: invalid cspSource');
  const csp = panelCsp(opts.cspSource, opts.nonce);
  const n = escapeHtml(opts.nonce);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" nonce="${n}" href="${escapeHtml(opts.styleUri)}">
<title>${escapeHtml(opts.title)}</title>
</head>
<body>
<div id="app" aria-live="polite"></div>
<script nonce="${n}" src="${escapeHtml(opts.scriptUri)}"></script>
</body>
</html>
`;
}
