/**
 * What a migration's SQL says at the top level, outside comments, string literals, quoted
 * identifiers and dollar-quoted bodies: enough to refuse what the runner cannot run safely
 * (COMMIT inside a transaction, COPY ... FROM stdin) and to quote the statement a person wrote,
 * without a full SQL parser. A `;` inside `$$ ... $$` or `'...'` never splits anything.
 */

/** One top-level command of a chunk, e.g. `COMMIT` in `UPDATE ...; COMMIT;`, with its offset in the chunk. */
export interface TopLevelCommand {
  /** The command's first words, upper-cased, comments and literals left out: `COMMIT`, `COPY "T" FROM STDIN`. */
  words: string[];
  /** Offset of its first word in the chunk. */
  offset: number;
  /** Offset just past its `;` (or the end of the chunk). */
  end: number;
}

/**
 * The chunk with every comment, literal and quoted identifier blanked to spaces (newlines kept),
 * so offsets and line numbers stay those of the original text.
 */
export function codeOnly(text: string): string {
  const out = text.split('');
  const blank = (from: number, to: number) => {
    for (let k = from; k < to && k < out.length; k++) if (out[k] !== '\n') out[k] = ' ';
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === '-' && next === '-') {
      const end = text.indexOf('\n', i);
      const stop = end === -1 ? text.length : end;
      blank(i, stop);
      i = stop;
    } else if (c === '/' && next === '*') {
      let depth = 1;
      let j = i + 2;
      while (j < text.length && depth > 0) {
        if (text[j] === '/' && text[j + 1] === '*') {
          depth++;
          j += 2;
        } else if (text[j] === '*' && text[j + 1] === '/') {
          depth--;
          j += 2;
        } else j++;
      }
      blank(i, j);
      i = j;
    } else if (c === "'" || c === '"') {
      // E'...' strings may escape a quote with a backslash.
      const escapes = c === "'" && /[eE]/.test(text[i - 1] ?? '') && !/\w/.test(text[i - 2] ?? '');
      let j = i + 1;
      while (j < text.length) {
        if (escapes && text[j] === '\\') j += 2;
        else if (text[j] === c && text[j + 1] === c) j += 2;
        else if (text[j] === c) break;
        else j++;
      }
      blank(i, j + 1);
      i = j + 1;
    } else if (c === '$') {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i, i + 64));
      if (tag && !/\w/.test(text[i - 1] ?? '')) {
        const end = text.indexOf(tag[0], i + tag[0].length);
        const stop = end === -1 ? text.length : end + tag[0].length;
        blank(i, stop);
        i = stop;
      } else i++;
    } else i++;
  }
  return out.join('');
}

/** The top-level commands of a chunk, split at `;` outside literals and comments. */
export function topLevelCommands(text: string): TopLevelCommand[] {
  const code = codeOnly(text);
  const commands: TopLevelCommand[] = [];
  let start = 0;
  for (let i = 0; i <= code.length; i++) {
    if (i < code.length && code[i] !== ';') continue;
    const part = code.slice(start, i);
    const lead = part.search(/\S/);
    if (lead !== -1) {
      commands.push({
        words: part
          .slice(lead)
          .split(/\s+/)
          .filter(Boolean)
          .slice(0, 8)
          .map((w) => w.toUpperCase()),
        offset: start + lead,
        end: Math.min(i + 1, code.length),
      });
    }
    start = i + 1;
  }
  return commands;
}

const TRANSACTION_CONTROL = new Set([
  'BEGIN',
  'START',
  'COMMIT',
  'END',
  'ROLLBACK',
  'ABORT',
  'SAVEPOINT',
  'RELEASE',
  'PREPARE',
]);

/**
 * Is this command a transaction-control statement (`COMMIT;`, `BEGIN;`, `START TRANSACTION`...)?
 * `PREPARE` counts only as `PREPARE TRANSACTION`; `BEGIN` of a DO block or a function body is inside `$$`.
 */
export function isTransactionControl(command: TopLevelCommand): boolean {
  const [first, second] = command.words;
  if (!first || !TRANSACTION_CONTROL.has(first)) return false;
  if (first === 'PREPARE') return second === 'TRANSACTION';
  if (first === 'START') return second === 'TRANSACTION';
  return true;
}

/** `COPY ... FROM STDIN`: the runner has no data to send, and the statement would wait for it. */
export function isCopyFromStdin(command: TopLevelCommand): boolean {
  if (command.words[0] !== 'COPY') return false;
  const from = command.words.indexOf('FROM');
  return from !== -1 && command.words[from + 1]?.replace(/;$/, '') === 'STDIN';
}

/** The first line of a statement that is not a comment: what to quote in an error. */
export function firstCodeLine(statement: string): string {
  const code = codeOnly(statement);
  const lines = statement.split('\n');
  const codeLines = code.split('\n');
  const index = codeLines.findIndex((l) => l.trim().length > 0);
  return (index === -1 ? (lines[0] ?? '') : lines[index]!).trim();
}

/** 1-based line and column of `offset` in `text`. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, offset)).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

/**
 * The commands a chunk holds, as texts with their offsets in the chunk, to send one by one: an
 * error then names its own command, and its position counts from that command's start. A chunk with
 * a SQL-standard body (`BEGIN ATOMIC ... END`), whose `;` are not top-level, stays whole.
 */
export function commandTexts(
  chunk: string,
  commands = topLevelCommands(chunk),
): Array<{ text: string; offset: number }> {
  if (commands.length <= 1 || /\bBEGIN\s+ATOMIC\b/i.test(codeOnly(chunk))) return [{ text: chunk, offset: 0 }];
  return commands.map((c) => ({ text: chunk.slice(c.offset, c.end), offset: c.offset }));
}
