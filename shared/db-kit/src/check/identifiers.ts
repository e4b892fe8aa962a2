import { MAX_IDENTIFIER_BYTES, pgIdentifier } from '../schema/drift';
import type { Finding } from './findings';
import type { ParsedMigration } from './sql';

/**
 * Names PostgreSQL would not keep as written. Over 63 bytes, a name is cut when the object is
 * created, so the database never matches the snapshot that spells it whole; and tables, indexes,
 * sequences and the indexes behind primary keys and unique constraints share one namespace per
 * schema, so two of them with one name fail at migrate. Both are errors in the migrations under
 * review, with the fix: the name to give in the schema.
 *
 * drizzle-kit quotes every identifier it writes, so the quoted names of the file are its names.
 * (Postgres's parser, used by the other rules, has already cut them.)
 */
export function identifierFindings(all: ParsedMigration[], inScope: ParsedMigration[]): Finding[] {
  const findings: Finding[] = [];
  const taken = new Map<string, { migration: ParsedMigration; line: number }>();
  const reviewed = new Set(inScope);
  for (const migration of all) {
    const lines = migration.text.split('\n');
    // Guarded creation (IF NOT EXISTS, or a DO block: promote's adopt migration) takes over an
    // object that exists already, under its own name: never a second one. It lasts a statement.
    let doBlock: string | undefined;
    let guarded = false;
    for (const [index, line] of lines.entries()) {
      if (line.trimStart().startsWith('--')) continue;
      const opened = /\bDO (\$\w*\$)/.exec(line);
      if (opened && !doBlock) doBlock = opened[1];
      if (doBlock || /IF NOT EXISTS/i.test(line)) guarded = true;
      const ends = doBlock ? line.includes(`END ${doBlock}`) : /;\s*$/.test(line);
      if (reviewed.has(migration)) {
        for (const match of line.matchAll(/"((?:[^"]|"")+)"/g)) {
          const name = match[1]!.replaceAll('""', '"');
          if (Buffer.byteLength(name, 'utf8') <= MAX_IDENTIFIER_BYTES) continue;
          findings.push({
            rule: 'name-too-long',
            severity: 'error',
            file: migration.path,
            line: index + 1,
            column: match.index + 1,
            message:
              `"${name}" is ${Buffer.byteLength(name, 'utf8')} bytes: PostgreSQL keeps 63 and would store ` +
              `"${pgIdentifier(name)}", so the database and the snapshot never agree.`,
            next:
              `Name it in the schema, at most 63 bytes${suggestion(name, line)}, then regenerate (delete this ` +
              `file and its journal entry first).`,
          });
        }
      }
      for (const name of guarded ? [] : relationNames(line, lines, index)) {
        const key = pgIdentifier(name);
        const earlier = taken.get(key);
        if (earlier && reviewed.has(migration)) {
          findings.push({
            rule: 'name-collision',
            severity: 'error',
            file: migration.path,
            line: index + 1,
            message:
              `"${key}" is already the name of a table, index, sequence or key in ` +
              `${earlier.migration.pkg.name} (${earlier.migration.path.split('/').pop()}:${earlier.line}): ` +
              `tables, indexes and the indexes behind keys share one namespace.`,
            next:
              'Give this one another name in the schema ' +
              "(index('...'), unique('...'), primaryKey({ name })), then regenerate.",
          });
        } else taken.set(key, { migration, line: index + 1 });
      }
      for (const name of droppedNames(line)) taken.delete(pgIdentifier(name));
      if (ends) {
        doBlock = undefined;
        guarded = false;
      }
    }
  }
  return findings;
}

/** What to write where drizzle derived the name: its own API for the kind of object on the line. */
function suggestion(name: string, line: string): string {
  const fk = /ALTER TABLE (?:"[^"]+"\.)?"([^"]+)" ADD CONSTRAINT "[^"]+" FOREIGN KEY \(([^)]*)\)/i.exec(line);
  if (fk) {
    // The referencing table and columns say enough: drop drizzle's referenced-table half.
    const columns = fk[2]!
      .replaceAll('"', '')
      .split(',')
      .map((c) => c.trim());
    const wanted = shorten(`${fk[1]}_${columns.join('_')}`, '_fk');
    return `: foreignKey({ name: '${wanted}', columns, foreignColumns }) instead of .references()`;
  }
  if (/UNIQUE/i.test(line) || name.endsWith('_unique')) return `: unique('${shorten(name, '_key')}').on(...)`;
  if (/PRIMARY KEY/i.test(line) || name.endsWith('_pk'))
    return `: primaryKey({ name: '${shorten(name, '_pkey')}', columns })`;
  if (/CREATE (UNIQUE )?INDEX/i.test(line)) return `: index('${shorten(name, '_idx')}')`;
  return '';
}

/** A readable name under the limit: the start of the original, then the kind's suffix. */
function shorten(name: string, suffix: string): string {
  const base = name.replace(/_(fk|unique|pk|idx|key|pkey)$/, '');
  const room = MAX_IDENTIFIER_BYTES - suffix.length;
  if (Buffer.byteLength(base, 'utf8') <= room) return `${base}${suffix}`;
  const cut = pgIdentifier(base).slice(0, room);
  // End on a whole word where one ends late enough to keep the name recognisable.
  const word = cut.lastIndexOf('_');
  return `${word > room / 2 ? cut.slice(0, word) : cut}${suffix}`;
}

/** Names a statement on this line puts into the schema's relation namespace. */
function relationNames(line: string, lines: string[], index: number): string[] {
  const names: string[] = [];
  const table = /^\s*CREATE TABLE (?:IF NOT EXISTS )?(?:"[^"]+"\.)?"([^"]+)"/i.exec(line);
  if (table) {
    names.push(table[1]!);
    // An inline PRIMARY KEY gets PostgreSQL's automatic name.
    for (let j = index + 1; j < lines.length && !/^\s*\);/.test(lines[j]!); j++)
      if (/^\s*"[^"]+" .*\bPRIMARY KEY\b/i.test(lines[j]!)) names.push(`${table[1]}_pkey`);
  }
  const index_ = /^\s*CREATE (?:UNIQUE )?INDEX (?:CONCURRENTLY )?(?:IF NOT EXISTS )?"([^"]+)"/i.exec(line);
  if (index_) names.push(index_[1]!);
  for (const key of line.matchAll(/CONSTRAINT "([^"]+)" (?:PRIMARY KEY|UNIQUE)/gi)) names.push(key[1]!);
  const sequence = /^\s*CREATE SEQUENCE (?:IF NOT EXISTS )?(?:"[^"]+"\.)?"([^"]+)"/i.exec(line);
  if (sequence) names.push(sequence[1]!);
  const view = /^\s*CREATE (?:OR REPLACE )?(?:MATERIALIZED )?VIEW (?:"[^"]+"\.)?"([^"]+)"/i.exec(line);
  if (view) names.push(view[1]!);
  return names;
}

const DROPPED = /^\s*DROP (?:TABLE|INDEX|SEQUENCE|VIEW|MATERIALIZED VIEW) (?:CONCURRENTLY )?(?:IF EXISTS )?"([^"]+)"/i;

function droppedNames(line: string): string[] {
  const dropped = DROPPED.exec(line);
  const constraint = /DROP CONSTRAINT (?:IF EXISTS )?"([^"]+)"/i.exec(line);
  return [dropped?.[1], constraint?.[1]].filter((n): n is string => Boolean(n));
}
