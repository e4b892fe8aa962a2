import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

// A new team depends on exactly what the shared package already depends on, so every one of its
// dependencies is resolved in pnpm-lock.yaml already. Writing its importer entry from those
// resolutions lets `pnpm install --offline` link it with no registry metadata at all (a
// frozen-lockfile install leaves none behind), and the lockfile changes by the new package only:
// an online resolve could pick newer versions and add unrelated entries.

const SECTIONS = ['dependencies', 'devDependencies', 'optionalDependencies'] as const;
type Section = (typeof SECTIONS)[number];

export interface ImporterManifest {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

interface Resolution {
  specifier: string;
  /** As written in the lockfile; a `link:` version is kept absolute here. */
  version: string;
}

/** The importers block of a lockfile v9: importer path -> section -> dependency -> resolution. */
function readImporters(lines: string[], root: string): Map<string, Map<string, Resolution[]>> {
  const byName = new Map<string, Map<string, Resolution[]>>();
  let importer: string | undefined;
  let name: string | undefined;
  let specifier: string | undefined;
  const start = lines.indexOf('importers:');
  if (start < 0) return byName;
  for (const line of lines.slice(start + 1)) {
    if (/^\S/.test(line)) break;
    const importerKey = /^ {2}(\S.*):$/.exec(line);
    if (importerKey) importer = unquote(importerKey[1]!);
    const dependency = /^ {6}(\S.*):$/.exec(line);
    if (dependency) {
      name = unquote(dependency[1]!);
      specifier = undefined;
    }
    const field = /^ {8}(specifier|version): (.*)$/.exec(line);
    if (!field || !importer || !name) continue;
    const value = unquote(field[2]!);
    if (field[1] === 'specifier') {
      specifier = value;
      continue;
    }
    if (specifier === undefined) continue;
    const version = value.startsWith('link:') ? `link:${resolve(root, importer, value.slice(5))}` : value;
    const forName = byName.get(name) ?? new Map<string, Resolution[]>();
    byName.set(name, forName);
    forName.set(specifier, [...(forName.get(specifier) ?? []), { specifier, version }]);
  }
  return byName;
}

function unquote(text: string): string {
  return /^'(.*)'$/.exec(text)?.[1]?.replace(/''/g, "'") ?? text;
}

/** Quotes what YAML would misread, as pnpm does: `'@scope/name'`; `workspace:*` and `^1.2.3` stay plain. */
function quote(text: string): string {
  return /^[@*&!|>%`'"{}[\],#?]|: | #|:$/.test(text) ? `'${text.replace(/'/g, "''")}'` : text;
}

/**
 * Adds the importer of `packageDir` to the root's pnpm-lock.yaml, resolving each dependency the way
 * another importer with the same specifier already does. Returns false, changing nothing, when there
 * is no lockfile, the importer is there already, or a dependency has no resolution to reuse.
 */
export function addLockfileImporter(root: string, packageDir: string, manifest: ImporterManifest): boolean {
  const file = join(root, 'pnpm-lock.yaml');
  if (!existsSync(file)) return false;
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const importerPath = relative(root, packageDir);
  if (lines.includes(`  ${importerPath}:`)) return false;
  const resolved = readImporters(lines, root);

  const block = [`  ${importerPath}:`];
  for (const section of SECTIONS satisfies readonly Section[]) {
    const deps = Object.entries(manifest[section] ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (!deps.length) continue;
    block.push(`    ${section}:`);
    for (const [name, specifier] of deps) {
      const known = resolved.get(name)?.get(specifier)?.[0];
      if (!known) return false;
      const version = known.version.startsWith('link:')
        ? `link:${relative(packageDir, known.version.slice(5))}`
        : known.version;
      block.push(`      ${quote(name)}:`, `        specifier: ${quote(specifier)}`, `        version: ${version}`);
    }
  }
  block.push('');

  // Importers are sorted by path, each followed by one blank line: insert before the first that sorts
  // after the new one, else before the next top-level key.
  const start = lines.indexOf('importers:');
  if (start < 0) return false;
  let at = start + 1;
  while (at < lines.length && !/^\S/.test(lines[at]!)) {
    const key = /^ {2}(\S.*):$/.exec(lines[at]!)?.[1];
    if (key !== undefined && unquote(key) > importerPath) break;
    at++;
  }
  if (at === lines.length && lines.at(-1) === '') at--;
  lines.splice(at, 0, ...block);
  writeFileSync(file, lines.join('\n'));
  return true;
}
