// The panel's HTML and its Content Security Policy. No vscode import, so a test can load the exact
// page in a browser and check that nothing breaks the policy.
import { randomBytes } from 'node:crypto';

export function makeNonce(): string {
  return randomBytes(18).toString('base64');
}

/** The panel's HTML: everything by nonce or from the extension, nothing inline without a nonce. */
export function panelHtml(opts: { cspSource: string; nonce: string; scriptUri: string; styleUri: string; title: string }): string {
  const { cspSource, nonce } = opts;
  const csp = [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" nonce="${nonce}" href="${opts.styleUri}">
<title>${escapeHtml(opts.title)}</title>
</head>
<body>
<div id="app" role="main"><p class="boot">Loading Neuron Path...</p></div>
<script type="module" nonce="${nonce}" src="${opts.scriptUri}"></script>
</body>
</html>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A panel page for one of the webview bundles in dist/ (`image.js/css`, `folder.js/css`, `neuron.js/css`, `compare.js/css`), with a fresh nonce. */
export function bundleHtml(cspSource: string, distUri: (file: string) => string, bundle: 'image' | 'folder' | 'neuron' | 'compare', title: string): string {
  return panelHtml({ cspSource, nonce: makeNonce(), scriptUri: distUri(`${bundle}.js`), styleUri: distUri(`${bundle}.css`), title });
}
