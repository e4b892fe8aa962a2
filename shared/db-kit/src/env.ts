import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const secrets = new Set<string>();

/**
 * Adds a text that redact() hides wherever it appears: the parser of DATABASE_URL registers the
 * user information it read (`user:pass word@`, which no pattern can bound) and, for a value it
 * cannot read, the whole value.
 */
export function rememberSecret(value: string): void {
  if (value.length >= 3) secrets.add(value);
}

/**
 * Hides passwords in `text`: every value rememberSecret() was given, then, in any connection
 * string, everything between `://` and the last `@` of the authority except the user name
 * (`postgres://u:***@h/db`), so an unencoded `/`, `@` or `?` in a password is hidden too.
 */
export function redact(text: string): string {
  let out = text;
  // Longest first, so a password that contains another secret is hidden whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length))
    out = out.split(secret).join(secret.endsWith('@') ? `${secret.split(':')[0]}:***@` : '***');
  return out
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)([^\s:@/]*):\S*@/gi, (_, scheme, user) => `${scheme}${user}:***@`)
    .replace(/(password=)[^&\s]+/gi, '$1***');
}

/** Parses a dotenv file: KEY=value lines, `#` comments, optional quotes. */
export function parseDotenv(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    let value = match[2]!.trim();
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    else value = value.replace(/\s+#.*$/, '');
    values[match[1]!] = value;
  }
  return values;
}

export function readDotenv(root: string): Record<string, string> {
  const file = join(root, '.env');
  return existsSync(file) ? parseDotenv(readFileSync(file, 'utf8')) : {};
}
