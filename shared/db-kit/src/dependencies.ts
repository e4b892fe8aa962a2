/**
 * `import()` of a package from node_modules (drizzle-kit, tsx, the SQL parser, prompts). The CLI's bundle runs as a
 * vm.Script (bin/db-kit.cjs, for V8's code cache), where a plain import() would need an experimental flag: the
 * launcher lends its own import() (same package, so the same node_modules) under this symbol. Tests and library
 * callers, which load src/ as modules, use their own.
 */
const LENT_IMPORT = Symbol.for('db-kit.import');

export function importDependency<T>(specifier: string): Promise<T> {
  const lent = (globalThis as { [LENT_IMPORT]?: (specifier: string) => Promise<unknown> })[LENT_IMPORT];
  return (lent ? lent(specifier) : import(specifier)) as Promise<T>;
}
