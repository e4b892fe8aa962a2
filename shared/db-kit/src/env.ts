import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Hides the password of every connection string in `text`: `postgres://u:***@h/db`. */
export function redact(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)[^@\s/]*@/gi, '$1***@')
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
