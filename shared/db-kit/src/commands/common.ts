import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors';
import type { Workspace, SchemaPackage } from '../workspace';

export type Options = NonNullable<ParseArgsConfig['options']>;

export const packageOptions = {
  package: { type: 'string', short: 'p' },
  all: { type: 'boolean' },
} satisfies Options;

export function parse<O extends Options>(argv: string[], options: O) {
  return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
}

/** The package named by --package, or all of them with --all. */
export function selectPackages(ws: Workspace, values: { package?: string; all?: boolean }): SchemaPackage[] {
  if (values.all) return ws.allInOrder();
  if (!values.package)
    throw new UsageError(
      'Say which package: --package <alias> or --all.',
      `Packages: ${ws.packages.map((p) => p.alias).join(', ')}.`,
    );
  return [ws.resolve(values.package)];
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
