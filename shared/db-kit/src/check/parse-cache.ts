import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Workspace } from '../workspace';
import type { ParsedText } from './sql';

/**
 * What libpg-query said about each migration text, keyed by the text's hash, in .db/parse-cache.json.
 * Migrations rarely change, so a check over a long history parses only the new files and skips
 * loading the parser (WebAssembly) at all when nothing changed. The cache is tied to the parser's
 * identity (libpg-query's version and the engine code reading its tree): a change to either re-parses.
 */
export class ParseCache {
  private entries: Record<string, ParsedText> = {};
  private readonly used = new Set<string>();
  private changed = false;

  private constructor(
    private readonly file: string,
    private readonly version: string,
  ) {}

  /** @param version the parser's identity (see parserIdentity in sql.ts): another one ignores the cache. */
  static open(ws: Workspace, version: string): ParseCache {
    const cache = new ParseCache(join(ws.root, '.db', 'parse-cache.json'), version);
    try {
      const data = JSON.parse(readFileSync(cache.file, 'utf8')) as {
        version?: string;
        entries?: Record<string, ParsedText>;
      };
      if (data.version === cache.version) cache.entries = data.entries ?? {};
    } catch {
      // no cache yet, or a broken one: parse everything
    }
    return cache;
  }

  get(text: string): ParsedText | undefined {
    const key = hashOf(text);
    const found = this.entries[key];
    if (found) this.used.add(key);
    return found;
  }

  set(text: string, parsed: ParsedText): void {
    const key = hashOf(text);
    this.entries[key] = parsed;
    this.used.add(key);
    this.changed = true;
  }

  /**
   * Writes the entries this run used (so files deleted since drop out); a cache that cannot be written only costs
   * time.
   */
  save(): void {
    if (!this.changed && this.used.size === Object.keys(this.entries).length) return;
    const kept = Object.fromEntries([...this.used].map((key) => [key, this.entries[key]!]));
    try {
      mkdirSync(join(this.file, '..'), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ version: this.version, entries: kept }));
      renameSync(tmp, this.file); // atomic: a concurrent check reads the old or the new file
    } catch {
      // read-only checkout: fine
    }
  }
}

function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}
