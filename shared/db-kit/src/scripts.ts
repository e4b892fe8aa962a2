import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SchemaPackage, Workspace } from './workspace';

const scriptsByRoot = new Map<string, Array<{ name: string; words: string[] }>>();

/** The root package.json's scripts that call the engine, as words: `teamd:db:repair` -> [repair, --package, teamd]. */
function engineScripts(root: string): Array<{ name: string; words: string[] }> {
  let scripts = scriptsByRoot.get(root);
  if (scripts) return scripts;
  scripts = [];
  try {
    const all =
      (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts ??
      {};
    for (const [name, value] of Object.entries(all)) {
      const [bin, ...words] = value.trim().split(/\s+/);
      if (bin === 'db-kit') scripts.push({ name, words: words.map((w) => (w === '-p' ? '--package' : w)) });
    }
  } catch {
    // no readable package.json: every command falls back to pnpm exec
  }
  scriptsByRoot.set(root, scripts);
  return scripts;
}

/**
 * What the user types to run an engine command: the root script that runs it, with the remaining
 * flags passed through (`repair --package teamd --reason "<why>"` -> `pnpm teamd:db:repair --reason
 * "<why>"`), else `pnpm exec db-kit ...`. `db-kit` itself is not on PATH. Read from the root
 * package.json, so the engine names no team. Any package tells the workspace's root.
 *
 * @example
 *   commandFor(ws, 'migrate --all'); // 'pnpm db:migrate:all'
 */
export function commandFor(ws: Workspace | SchemaPackage, command: string): string {
  const words = command.trim().split(/\s+/);
  let best: { name: string; words: string[] } | undefined;
  for (const script of engineScripts(ws.root)) {
    const matches = script.words.every((w, i) => words[i] === w);
    if (matches && script.words.length > (best?.words.length ?? 0)) best = script;
  }
  if (!best) return `pnpm exec db-kit ${words.join(' ')}`;
  return [`pnpm ${best.name}`, ...words.slice(best.words.length)].join(' ');
}

/** `pnpm teamd:db:generate`: how the user runs `verb` for one package. */
export function scriptFor(ws: Workspace | SchemaPackage, verb: string, pkg: SchemaPackage): string {
  return commandFor(ws, `${verb} --package ${pkg.alias}`);
}
