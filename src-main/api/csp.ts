/**
 * Content Security Policy for the renderer. The same string is sent as a response header by the
 * Electron app protocol and by the test bridge, and stands in a <meta> tag in index.html (a test
 * checks they agree). No inline script, no eval, no remote anything.
 */
export const RENDERER_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'"
].join('; ')
