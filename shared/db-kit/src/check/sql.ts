import { readFileSync } from 'node:fs';
import type { SchemaPackage } from '../workspace';

/** What a statement does to a named object. `reference` is a foreign key pointing at a table. */
export type Action = 'create' | 'alter' | 'drop' | 'reference';
export type ObjectKind = 'table' | 'enum' | 'index' | 'constraint';

export interface ObjectRef {
  kind: ObjectKind;
  /** `schema.name`; for a constraint `schema.table.name`, like `ownership()` keys. */
  qualifiedName: string;
  /** The bare name, for messages. */
  name: string;
  action: Action;
}

export interface SqlStatement {
  /** 1-based lines of the statement's first and last character. */
  startLine: number;
  endLine: number;
  /** The first line of its text, for messages. */
  firstLine: string;
  /** Objects the statement creates, alters, drops or references. */
  targets: ObjectRef[];
}

/**
 * An inline waiver: squawk's own ignore comment plus a mandatory reason after ` -- `.
 *   -- squawk-ignore ban-drop-column -- nobody reads it since 2026-10 (PR 123)
 *   -- squawk-ignore-file changing-column-type -- the table has 12 rows
 * A statement waiver covers the next statement, however many lines it has; a file waiver the file.
 */
export interface Waiver {
  /** The comment as written, for messages. */
  text: string;
  rules: string[];
  reason: string;
  line: number;
  scope: 'statement' | 'file';
  /** Index into `statements` for a statement waiver; undefined when no statement follows. */
  statement?: number;
  used: boolean;
}

export interface ParsedMigration {
  pkg: SchemaPackage;
  path: string;
  statements: SqlStatement[];
  waivers: Waiver[];
  /** Set when Postgres's parser rejects the file. */
  syntaxError?: { message: string; line?: number };
}

const WAIVER = /^\s*--\s*squawk-ignore(-file)?\b(.*)$/;

type Node = Record<string, unknown>;
interface Parser {
  parseSync(sql: string): { stmts?: Array<{ stmt: Node; stmt_location?: number; stmt_len?: number }> };
}

let parser: Promise<Parser> | undefined;

/** libpg-query: Postgres's own parser compiled to WebAssembly; loaded once, on first use. */
function loadParser(): Promise<Parser> {
  parser ??= import('libpg-query').then(async (mod) => {
    await mod.loadModule();
    return mod as unknown as Parser;
  });
  return parser;
}

/** Parses one migration file into statements with line ranges, their target objects, and its waivers. */
export async function parseMigration(pkg: SchemaPackage, path: string): Promise<ParsedMigration> {
  const { parseSync } = await loadParser();
  const text = readFileSync(path, 'utf8');
  const lines = new LineIndex(text);
  const textLines = text.split('\n');
  const parsed: ParsedMigration = { pkg, path, statements: [], waivers: [] };
  try {
    for (const raw of parseSync(text).stmts ?? []) {
      const start = raw.stmt_location ?? 0;
      const end = start + (raw.stmt_len ?? lines.byteLength - start);
      const startLine = lines.lineOfByte(firstTokenByte(text, lines, start));
      parsed.statements.push({
        startLine,
        endLine: lines.lineOfByte(Math.max(start, end - 1)),
        firstLine: (textLines[startLine - 1] ?? '').trim().replace(/;?-->\s*statement-breakpoint$/, ''),
        targets: targetsOf(raw.stmt),
      });
    }
  } catch (error) {
    const details = (error as { sqlDetails?: { cursorPosition?: number } }).sqlDetails;
    const position = details?.cursorPosition;
    parsed.syntaxError = {
      message: (error as Error).message,
      line: position === undefined ? undefined : lines.lineOfByte(Math.max(0, position - 1)),
    };
  }
  textLines.forEach((lineText, i) => {
    const match = WAIVER.exec(lineText);
    if (!match) return;
    const [rulesText = '', ...reason] = match[2]!.split('--');
    const line = i + 1;
    const scope = match[1] ? 'file' : 'statement';
    const next = parsed.statements.findIndex((s) => s.startLine > line);
    parsed.waivers.push({
      text: lineText.trim(),
      rules: rulesText.split(/[\s,]+/).filter(Boolean),
      reason: reason.join('--').trim(),
      line,
      scope,
      statement: scope === 'statement' && next >= 0 ? next : undefined,
      used: false,
    });
  });
  return parsed;
}

/** The statement covering a 1-based line, if any. */
export function statementAt(migration: ParsedMigration, line: number): number | undefined {
  const index = migration.statements.findIndex((s) => line >= s.startLine && line <= s.endLine);
  return index >= 0 ? index : undefined;
}

/** Postgres's statement offsets may include the comments before a statement; skip them. */
function firstTokenByte(text: string, lines: LineIndex, startByte: number): number {
  const rest = Buffer.from(text, 'utf8').subarray(startByte).toString('utf8');
  const skipped = /^(?:\s+|--[^\n]*\n?|\/\*[\s\S]*?\*\/)*/.exec(rest)?.[0] ?? '';
  return Math.min(startByte + Buffer.byteLength(skipped), lines.byteLength - 1);
}

class LineIndex {
  private readonly lineStarts: number[] = [0];
  readonly byteLength: number;

  constructor(text: string) {
    const bytes = Buffer.from(text, 'utf8');
    this.byteLength = bytes.length;
    for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) this.lineStarts.push(i + 1);
  }

  lineOfByte(offset: number): number {
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return low + 1;
  }
}

// ---- what a statement touches, from the parse tree ----

function child(node: unknown, key: string): Node | undefined {
  return node && typeof node === 'object' ? ((node as Node)[key] as Node | undefined) : undefined;
}

function list(node: unknown, key: string): unknown[] {
  const value = node && typeof node === 'object' ? (node as Node)[key] : undefined;
  return Array.isArray(value) ? value : [];
}

function str(node: unknown, key: string): string | undefined {
  const value = node && typeof node === 'object' ? (node as Node)[key] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** `["public","x"]` from a list of `{ String: { sval } }`. */
function names(items: unknown[]): string[] {
  return items.map((item) => str(child(item, 'String'), 'sval')).filter((s): s is string => s !== undefined);
}

function relationName(relation: Node | undefined): { schema: string; name: string } | undefined {
  const name = str(relation, 'relname');
  return name ? { schema: str(relation, 'schemaname') ?? 'public', name } : undefined;
}

function qualified(parts: string[]): { schema: string; name: string } | undefined {
  const name = parts.at(-1);
  if (!name) return undefined;
  return { schema: parts.length > 1 ? parts.at(-2)! : 'public', name };
}

function ref(
  kind: ObjectKind,
  target: { schema: string; name: string } | undefined,
  action: Action,
  table?: string,
): ObjectRef[] {
  if (!target) return [];
  const qualifiedName =
    kind === 'constraint' ? `${target.schema}.${table}.${target.name}` : `${target.schema}.${target.name}`;
  return [{ kind, qualifiedName, name: target.name, action }];
}

function constraintRefs(constraint: Node | undefined, table: { schema: string; name: string }): ObjectRef[] {
  if (!constraint) return [];
  const refs: ObjectRef[] = [];
  const conname = str(constraint, 'conname');
  if (conname) refs.push(...ref('constraint', { schema: table.schema, name: conname }, 'create', table.name));
  // A primary key or unique constraint also creates an index of the same name.
  if (conname && ['CONSTR_PRIMARY', 'CONSTR_UNIQUE', 'CONSTR_EXCLUSION'].includes(str(constraint, 'contype') ?? '')) {
    refs.push(...ref('index', { schema: table.schema, name: conname }, 'create'));
  }
  refs.push(...ref('table', relationName(child(constraint, 'pktable')), 'reference'));
  return refs;
}

function targetsOf(stmt: Node): ObjectRef[] {
  const [type, body] = Object.entries(stmt)[0] ?? [];
  switch (type) {
    case 'CreateStmt': {
      const table = relationName(child(body, 'relation'));
      if (!table) return [];
      const refs = ref('table', table, 'create');
      for (const element of list(body, 'tableElts')) {
        refs.push(...constraintRefs(child(element, 'Constraint'), table));
        for (const c of list(child(element, 'ColumnDef'), 'constraints'))
          refs.push(...constraintRefs(child(c, 'Constraint'), table));
      }
      return refs;
    }
    case 'AlterTableStmt': {
      const table = relationName(child(body, 'relation'));
      if (!table) return [];
      const kind: ObjectKind = str(body, 'objtype') === 'OBJECT_INDEX' ? 'index' : 'table';
      const refs = ref(kind, table, 'alter');
      for (const cmd of list(body, 'cmds')) {
        const alter = child(cmd, 'AlterTableCmd');
        refs.push(...constraintRefs(child(child(alter, 'def'), 'Constraint'), table));
        if (str(alter, 'subtype') === 'AT_DropConstraint')
          refs.push(...ref('constraint', { schema: table.schema, name: str(alter, 'name') ?? '' }, 'drop', table.name));
      }
      return refs;
    }
    case 'IndexStmt': {
      const table = relationName(child(body, 'relation'));
      const index = str(body, 'idxname');
      return [
        ...ref('index', index && table ? { schema: table.schema, name: index } : undefined, 'create'),
        ...ref('table', table, 'alter'),
      ];
    }
    case 'DropStmt': {
      const kinds: Record<string, ObjectKind> = { OBJECT_TABLE: 'table', OBJECT_INDEX: 'index', OBJECT_TYPE: 'enum' };
      const kind = kinds[str(body, 'removeType') ?? ''];
      if (!kind) return [];
      return list(body, 'objects').flatMap((object) => {
        const parts = names(list(child(object, 'List'), 'items')).length
          ? names(list(child(object, 'List'), 'items'))
          : names(list(child(object, 'TypeName'), 'names'));
        return ref(kind, qualified(parts), 'drop');
      });
    }
    case 'CreateEnumStmt':
      return ref('enum', qualified(names(list(body, 'typeName'))), 'create');
    case 'AlterEnumStmt':
      return ref('enum', qualified(names(list(body, 'typeName'))), 'alter');
    case 'RenameStmt': {
      const renameType = str(body, 'renameType');
      const table = relationName(child(body, 'relation'));
      const newName = str(body, 'newname');
      if (renameType === 'OBJECT_TABLE' && table && newName)
        return [...ref('table', table, 'alter'), ...ref('table', { schema: table.schema, name: newName }, 'create')];
      if (renameType === 'OBJECT_INDEX' && table && newName)
        return [...ref('index', table, 'alter'), ...ref('index', { schema: table.schema, name: newName }, 'create')];
      if (renameType === 'OBJECT_TYPE') {
        const type = qualified(names(list(child(child(body, 'object'), 'List'), 'items')));
        return [
          ...ref('enum', type, 'alter'),
          ...ref('enum', type && newName ? { schema: type.schema, name: newName } : undefined, 'create'),
        ];
      }
      return ref('table', table, 'alter');
    }
    case 'CreateTrigStmt':
    case 'CreatePolicyStmt':
    case 'AlterPolicyStmt':
    case 'RuleStmt':
      return ref('table', relationName(child(body, 'relation') ?? child(body, 'table')), 'alter');
    default:
      return [];
  }
}
