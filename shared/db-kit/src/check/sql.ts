import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { commandsIn, commandsOfStatements, splitStatementsAt } from '../migrations/files';
import { codeOnly, commandTexts, topLevelCommands } from '../migrations/statements';
import type { SchemaPackage } from '../workspace';
import { importDependency } from '../dependencies';

/** What a statement does to a named object. `reference` is a foreign key pointing at a table. */
export type Action = 'create' | 'alter' | 'drop' | 'reference';
export type ObjectKind =
  | 'table'
  | 'enum'
  | 'index'
  | 'constraint'
  | 'extension'
  | 'function'
  | 'view'
  | 'trigger'
  | 'policy';

/** Kinds whose names live in a table's namespace: `schema.table.name`. */
export const TABLE_SCOPED: readonly ObjectKind[] = ['constraint', 'trigger', 'policy'];

export type ConstraintType = 'primary key' | 'unique' | 'foreign key' | 'check' | 'exclusion';

export interface ObjectRef {
  kind: ObjectKind;
  /**
   * `schema.name`; for a constraint, trigger or policy `schema.table.name`; for an extension just
   * its name (extensions are per database). Like the keys of `ownership()` (migrations/ownership.ts).
   */
  qualifiedName: string;
  /** The bare name, for messages. */
  name: string;
  action: Action;
  /** `CREATE OR REPLACE`: a create that changes the object when it exists. */
  replace?: boolean;
  /** For a constraint, and for the index a primary key or unique constraint creates. */
  constraintType?: ConstraintType;
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
  /** The file's text, read once for every rule. */
  text: string;
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
  parser ??= importDependency<typeof import('libpg-query')>('libpg-query').then(async (mod) => {
    await mod.loadModule();
    return mod as unknown as Parser;
  });
  return parser;
}

let identity: string | undefined;
/**
 * libpg-query's version, this module's code (which turns its trees into targets) and the lexer's (which splits
 * the text into the commands parsed): what a cached parse depends on.
 */
export function parserIdentity(): string {
  if (identity) return identity;
  const hash = createHash('sha256');
  try {
    hash.update(readFileSync(fileURLToPath(import.meta.url)));
    // Its own source, in a bundle's chunk too.
    for (const lexer of [commandsIn, commandsOfStatements, splitStatementsAt, commandTexts, topLevelCommands, codeOnly])
      hash.update(String(lexer));
    hash.update((createRequire(import.meta.url)('libpg-query/package.json') as { version: string }).version);
  } catch {
    hash.update(`${process.pid} ${Date.now()}`); // cannot tell: trust no earlier cache
  }
  identity = hash.digest('base64url');
  return identity;
}

/** What Postgres's parser says about a file's text: its statements, or where it stops. Cacheable by the text. */
export interface ParsedText {
  statements: SqlStatement[];
  syntaxError?: { message: string; line?: number };
}

/**
 * Parses one migration file's text into statements with line ranges, their target objects, and its waivers.
 * `cache` answers for a text parsed before (see parse-cache.ts), so libpg-query loads only on a miss.
 */
export async function parseMigration(
  pkg: SchemaPackage,
  path: string,
  text: string,
  cache?: { get(text: string): ParsedText | undefined; set(text: string, parsed: ParsedText): void },
): Promise<ParsedMigration> {
  let result = cache?.get(text);
  if (!result) {
    result = parseText(text, await loadParser());
    cache?.set(text, result);
  }
  const parsed: ParsedMigration = { pkg, path, text, statements: result.statements, waivers: [] };
  if (result.syntaxError) parsed.syntaxError = result.syntaxError;
  parsed.waivers = waiversOf(text, parsed.statements);
  return parsed;
}

function parseText(text: string, parser: Parser): ParsedText {
  const lines = new LineIndex(text);
  const textLines = text.split('\n');
  try {
    const statements = parsedCommands(text, parser).map(({ start, end, stmt }): SqlStatement => {
      const startLine = lines.lineOfByte(lines.firstTokenByte(start));
      return {
        startLine,
        endLine: lines.lineOfByte(Math.max(start, end - 1)),
        firstLine: (textLines[startLine - 1] ?? '').trim().replace(/;?-->\s*statement-breakpoint$/, ''),
        targets: targetsOf(stmt),
      };
    });
    return { statements };
  } catch (error) {
    const position = (error as { textByte?: number }).textByte;
    return {
      statements: [],
      syntaxError: {
        message: (error as Error).message,
        line: position === undefined ? undefined : lines.lineOfByte(position),
      },
    };
  }
}

/**
 * The text's statements as Postgres's parser reads them, each with its byte range in the text. The lexer
 * splits (commandsIn: breakpoints, then top-level `;`, as the runner sends them); the parser reads each
 * command, so a statement's position is the runner's. A syntax error carries the byte it points at in
 * the whole text (`textByte`).
 */
function parsedCommands(text: string, { parseSync }: Parser): Array<{ start: number; end: number; stmt: Node }> {
  const found: Array<{ start: number; end: number; stmt: Node }> = [];
  let byte = 0;
  let char = 0;
  for (const command of commandsIn(text)) {
    byte += Buffer.byteLength(text.slice(char, command.offset), 'utf8');
    char = command.offset;
    let stmts: ReturnType<Parser['parseSync']>['stmts'];
    try {
      stmts = parseSync(command.text).stmts;
    } catch (error) {
      const position = (error as { sqlDetails?: { cursorPosition?: number } }).sqlDetails?.cursorPosition;
      if (position !== undefined) Object.assign(error as object, { textByte: byte + Math.max(0, position - 1) });
      throw error;
    }
    const length = Buffer.byteLength(command.text, 'utf8');
    for (const raw of stmts ?? []) {
      const start = raw.stmt_location ?? 0;
      const end = start + (raw.stmt_len ?? length - start);
      found.push({ start: byte + start, end: byte + end, stmt: raw.stmt });
    }
  }
  return found;
}

/** The file's `-- squawk-ignore` lines, each tied to the statement below it (or to the file). */
function waiversOf(text: string, statements: SqlStatement[]): Waiver[] {
  const waivers: Waiver[] = [];
  text.split('\n').forEach((lineText, i) => {
    const match = WAIVER.exec(lineText);
    if (!match) return;
    const [rulesText = '', ...reason] = match[2]!.split('--');
    const line = i + 1;
    const scope = match[1] ? 'file' : 'statement';
    const next = statements.findIndex((s) => s.startLine > line);
    waivers.push({
      text: lineText.trim(),
      rules: rulesText.split(/[\s,]+/).filter(Boolean),
      reason: reason.join('--').trim(),
      line,
      scope,
      statement: scope === 'statement' && next >= 0 ? next : undefined,
      used: false,
    });
  });
  return waivers;
}

/** One statement of a text: its byte range (from its first token, through its `;` if any) and what it touches. */
export interface StatementSpan {
  startByte: number;
  endByte: number;
  targets: ObjectRef[];
}

/** The statements of a SQL text with their byte ranges, for rewriting statements in place. Throws on a syntax error. */
export async function statementSpans(text: string): Promise<StatementSpan[]> {
  const lines = new LineIndex(text);
  const bytes = Buffer.from(text, 'utf8');
  return parsedCommands(text, await loadParser()).map(({ start, end, stmt }) => {
    const withSemicolon = bytes[end] === 0x3b ? end + 1 : end; // the statement's own semicolon
    return { startByte: lines.firstTokenByte(start), endByte: withSemicolon, targets: targetsOf(stmt) };
  });
}

/** The statement covering a 1-based line, if any. */
export function statementAt(migration: ParsedMigration, line: number): number | undefined {
  const index = migration.statements.findIndex((s) => line >= s.startLine && line <= s.endLine);
  return index >= 0 ? index : undefined;
}

class LineIndex {
  private readonly lineStarts: number[] = [0];
  private readonly bytes: Buffer;
  readonly byteLength: number;

  constructor(text: string) {
    const bytes = Buffer.from(text, 'utf8');
    this.bytes = bytes;
    this.byteLength = bytes.length;
    for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) this.lineStarts.push(i + 1);
  }

  /** Postgres's statement offsets may include the whitespace and comments before a statement; skip them. */
  firstTokenByte(startByte: number): number {
    const b = this.bytes;
    let i = startByte;
    for (;;) {
      while (i < b.length && (b[i] === 0x20 || (b[i]! >= 0x09 && b[i]! <= 0x0d))) i++;
      if (b[i] === 0x2d && b[i + 1] === 0x2d) {
        while (i < b.length && b[i] !== 0x0a) i++; // -- to the end of the line
      } else if (b[i] === 0x2f && b[i + 1] === 0x2a) {
        const close = b.indexOf('*/', i + 2);
        if (close < 0) break; // unterminated: stay on the opening, as the regex did
        i = close + 2;
      } else break;
    }
    return Math.min(i, this.byteLength - 1);
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
    kind === 'extension'
      ? target.name
      : TABLE_SCOPED.includes(kind)
        ? `${target.schema}.${table}.${target.name}`
        : `${target.schema}.${target.name}`;
  return [{ kind, qualifiedName, name: target.name, action }];
}

const CONSTRAINT_TYPES: Record<string, ConstraintType> = {
  CONSTR_PRIMARY: 'primary key',
  CONSTR_UNIQUE: 'unique',
  CONSTR_FOREIGN: 'foreign key',
  CONSTR_CHECK: 'check',
  CONSTR_EXCLUSION: 'exclusion',
};

function constraintRefs(constraint: Node | undefined, table: { schema: string; name: string }): ObjectRef[] {
  if (!constraint) return [];
  const refs: ObjectRef[] = [];
  const conname = str(constraint, 'conname');
  const constraintType = CONSTRAINT_TYPES[str(constraint, 'contype') ?? ''];
  if (conname) {
    refs.push(
      ...ref('constraint', { schema: table.schema, name: conname }, 'create', table.name).map((r) => ({
        ...r,
        constraintType,
      })),
    );
  }
  // A primary key, unique or exclusion constraint also creates an index of the same name.
  if (conname && (constraintType === 'primary key' || constraintType === 'unique' || constraintType === 'exclusion')) {
    refs.push(
      ...ref('index', { schema: table.schema, name: conname }, 'create').map((r) => ({ ...r, constraintType })),
    );
  }
  refs.push(...ref('table', relationName(child(constraint, 'pktable')), 'reference'));
  return refs;
}

/** `f(text)` in DROP / ALTER / COMMENT: the function's qualified name (overloads are one object here). */
function functionName(node: unknown): { schema: string; name: string } | undefined {
  return qualified(names(list(child(node, 'ObjectWithArgs'), 'objname')));
}

const DROP_KINDS: Record<string, ObjectKind> = {
  OBJECT_TABLE: 'table',
  OBJECT_INDEX: 'index',
  OBJECT_TYPE: 'enum',
  OBJECT_VIEW: 'view',
  OBJECT_MATVIEW: 'view',
  OBJECT_FUNCTION: 'function',
  OBJECT_PROCEDURE: 'function',
  OBJECT_EXTENSION: 'extension',
  OBJECT_TRIGGER: 'trigger',
  OBJECT_POLICY: 'policy',
};

function dropRefs(kind: ObjectKind, object: unknown): ObjectRef[] {
  if (kind === 'extension') return ref(kind, { schema: '', name: str(child(object, 'String'), 'sval') ?? '' }, 'drop');
  if (kind === 'function') return ref(kind, functionName(object), 'drop');
  const items = names(list(child(object, 'List'), 'items'));
  const parts = items.length ? items : names(list(child(object, 'TypeName'), 'names'));
  if (kind === 'trigger' || kind === 'policy') {
    // DROP TRIGGER t ON [schema.]table: the parts are [schema,] table, name.
    const table = qualified(parts.slice(0, -1));
    const name = parts.at(-1);
    if (!table || !name) return [];
    return ref(kind, { schema: table.schema, name }, 'drop', table.name);
  }
  return ref(kind, qualified(parts), 'drop');
}

function targetsOf(stmt: Node): ObjectRef[] {
  const [type, body] = Object.entries(stmt)[0] ?? [];
  switch (type) {
    case 'CreateStmt':
      return createTableTargets(body);
    case 'AlterTableStmt':
      return alterTableTargets(body);
    case 'IndexStmt': {
      const table = relationName(child(body, 'relation'));
      const index = str(body, 'idxname');
      return [
        ...ref('index', index && table ? { schema: table.schema, name: index } : undefined, 'create'),
        ...ref('table', table, 'alter'),
      ];
    }
    case 'DropStmt': {
      const kind = DROP_KINDS[str(body, 'removeType') ?? ''];
      if (!kind) return [];
      return list(body, 'objects').flatMap((object) => dropRefs(kind, object));
    }
    case 'CreateExtensionStmt':
      return ref('extension', { schema: '', name: str(body, 'extname') ?? '' }, 'create');
    case 'AlterExtensionStmt':
    case 'AlterExtensionContentsStmt':
      return ref('extension', { schema: '', name: str(body, 'extname') ?? '' }, 'alter');
    case 'CreateFunctionStmt':
      return ref('function', qualified(names(list(body, 'funcname'))), 'create').map((r) => ({
        ...r,
        replace: (body as Node | undefined)?.replace === true,
      }));
    case 'AlterFunctionStmt':
      return ref('function', qualified(names(list(child(body, 'func'), 'objname'))), 'alter');
    case 'ViewStmt':
      return ref('view', relationName(child(body, 'view')), 'create').map((r) => ({
        ...r,
        replace: (body as Node | undefined)?.replace === true,
      }));
    case 'CreateTableAsStmt':
      return str(body, 'objtype') === 'OBJECT_MATVIEW'
        ? ref('view', relationName(child(child(body, 'into'), 'rel')), 'create')
        : ref('table', relationName(child(child(body, 'into'), 'rel')), 'create');
    case 'RefreshMatViewStmt':
      return ref('view', relationName(child(body, 'relation')), 'alter');
    case 'AlterOwnerStmt':
    case 'CommentStmt': {
      const objectType = str(body, 'objectType') ?? str(body, 'objtype');
      if (objectType === 'OBJECT_FUNCTION' || objectType === 'OBJECT_PROCEDURE')
        return ref('function', functionName(child(body, 'object')), 'alter');
      return [];
    }
    case 'CreateEnumStmt':
      return ref('enum', qualified(names(list(body, 'typeName'))), 'create');
    case 'AlterEnumStmt':
      return ref('enum', qualified(names(list(body, 'typeName'))), 'alter');
    case 'RenameStmt':
      return renameTargets(body);
    case 'CreateTrigStmt':
      return triggerTargets(body);
    case 'CreatePolicyStmt':
    case 'AlterPolicyStmt': {
      const table = relationName(child(body, 'table'));
      const policy = str(body, 'policy_name');
      const action = type === 'CreatePolicyStmt' ? 'create' : 'alter';
      return [
        ...ref('table', table, 'alter'),
        ...ref('policy', table && policy ? { schema: table.schema, name: policy } : undefined, action, table?.name),
      ];
    }
    case 'RuleStmt':
      return ref('table', relationName(child(body, 'relation')), 'alter');
    default:
      return [];
  }
}

/** CREATE TABLE: the table and the constraints it declares (table and column level). */
function createTableTargets(body: unknown): ObjectRef[] {
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

/** ALTER TABLE (or INDEX, VIEW): the relation, constraints it adds and drops. */
function alterTableTargets(body: unknown): ObjectRef[] {
  const table = relationName(child(body, 'relation'));
  if (!table) return [];
  const objtype = str(body, 'objtype');
  const kind: ObjectKind =
    objtype === 'OBJECT_INDEX' ? 'index' : objtype === 'OBJECT_VIEW' || objtype === 'OBJECT_MATVIEW' ? 'view' : 'table';
  const refs = ref(kind, table, 'alter');
  for (const cmd of list(body, 'cmds')) {
    const alter = child(cmd, 'AlterTableCmd');
    refs.push(...constraintRefs(child(child(alter, 'def'), 'Constraint'), table));
    if (str(alter, 'subtype') === 'AT_DropConstraint')
      refs.push(...ref('constraint', { schema: table.schema, name: str(alter, 'name') ?? '' }, 'drop', table.name));
  }
  return refs;
}

/** A rename alters the old name and creates the new one. */
function renameTargets(body: unknown): ObjectRef[] {
  const renameType = str(body, 'renameType');
  const table = relationName(child(body, 'relation'));
  const newName = str(body, 'newname');
  if (renameType === 'OBJECT_TABLE' && table && newName)
    return [...ref('table', table, 'alter'), ...ref('table', { schema: table.schema, name: newName }, 'create')];
  if ((renameType === 'OBJECT_VIEW' || renameType === 'OBJECT_MATVIEW') && table && newName)
    return [...ref('view', table, 'alter'), ...ref('view', { schema: table.schema, name: newName }, 'create')];
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

/** CREATE TRIGGER alters its table and creates the trigger in the table's namespace. */
function triggerTargets(body: unknown): ObjectRef[] {
  const table = relationName(child(body, 'relation'));
  const trigger = str(body, 'trigname');
  return [
    ...ref('table', table, 'alter'),
    ...ref('trigger', table && trigger ? { schema: table.schema, name: trigger } : undefined, 'create', table?.name),
  ].map((r) => (r.kind === 'trigger' ? { ...r, replace: (body as Node | undefined)?.replace === true } : r));
}
