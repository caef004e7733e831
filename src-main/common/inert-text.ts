/**
 * Text from the network — a client's WorkstationName, a host's ePID, an SRV target from DNS — made inert before it
 * reaches a terminal or a log line: a hostile peer must not be able to clear the screen, move the cursor, forge a
 * log line with CR/LF, reorder text with bidirectional overrides, or flood the output. Every control character
 * (C0, DEL, C1 — ESC among them), line and paragraph separator, bidi control and lone surrogate is shown as a
 * visible escape (`\x1b`, `\u202e`), and the text is cut to a bounded length with a note of how much was cut.
 *
 * JSON output keeps the exact values (JSON escapes them itself); this is for human-readable text only.
 */

/** Longest text shown for one network value; a KMS field is at most a few hundred characters when honest. */
export const INERT_MAX_LENGTH = 256

// A backslash (doubled, so a peer cannot send `\x1b` as text that passes for one of our escapes); C0 controls,
// DEL, C1 controls; U+2028/2029 (line/paragraph separators); bidi embeddings, overrides and isolates; zero-width
// characters and the BOM, which hide or join text; lone surrogates.
const UNSAFE =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point of this module
  /[\\\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200b-\u200f\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

function escape(ch: string): string {
  if (ch === '\\') return '\\\\'
  const code = ch.charCodeAt(0)
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
}

/** The text with every unsafe character escaped visibly, at most `maxLength` characters of it (then `…(+N more)`). */
export function inert(text: string, maxLength = INERT_MAX_LENGTH): string {
  const cut = text.length > maxLength ? text.slice(0, maxLength) : text
  const shown = cut.replace(UNSAFE, escape)
  return text.length > maxLength ? `${shown}…(+${text.length - maxLength} more)` : shown
}

/**
 * One line for a monitoring system (Nagios, Icinga, Checkmk read the first line of output, and everything after
 * its first `|` as performance data): inert, and without `|`, which is shown as `¦`.
 */
export function monitoringText(text: string, maxLength = 1024): string {
  return inert(text, maxLength).replaceAll('|', '¦')
}
