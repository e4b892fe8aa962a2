import { statSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import type { RunOutput } from '../src/testing/fixture';

/**
 * What `tsc --noEmit -p <dir>` reports for each package, run in the test's own process with the
 * TypeScript the workspace installs. Files outside the scratch copy (lib files, node_modules'
 * declarations, the engine's sources, ~700 files) are parsed and bound once per worker and shared by
 * every later program, as an editor's language service shares them; the copy's own files are read
 * fresh each time. Packages whose tsconfig resolves to the same compiler options are checked in one
 * program over the union of their files: the same diagnostics, with the lib and declaration files
 * checked once instead of once per package.
 *
 * @example
 *   const run = typecheck(ws.root, ['shared/database', TEAMD]);
 *   expect(run.code, run.stdout).toBe(0);
 */
export function typecheck(root: string, packageDirs: string[]): RunOutput {
  const groups = new Map<string, { options: ts.CompilerOptions; files: Set<string>; config: ts.Diagnostic[] }>();
  for (const dir of packageDirs) {
    const parsed = ts.getParsedCommandLineOfConfigFile(join(root, dir, 'tsconfig.json'), {}, parseHost);
    if (!parsed) throw new Error(`typecheck: cannot read ${dir}/tsconfig.json`);
    const { configFilePath: _path, ...options } = parsed.options;
    const key = JSON.stringify(options);
    const group = groups.get(key) ?? { options: parsed.options, files: new Set(), config: [] };
    for (const file of parsed.fileNames) group.files.add(file);
    group.config.push(...parsed.errors);
    groups.set(key, group);
  }
  const diagnostics: ts.Diagnostic[] = [];
  for (const [key, group] of groups) {
    const program = ts.createProgram({
      rootNames: [...group.files],
      options: group.options,
      host: cachingHost(root, key, group.options),
      configFileParsingDiagnostics: group.config,
    });
    diagnostics.push(...group.config, ...ts.getPreEmitDiagnostics(program));
  }
  const stdout = ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (name) => name,
    getCurrentDirectory: () => root,
    getNewLine: () => '\n',
  });
  return { code: diagnostics.length ? 2 : 0, stdout, stderr: '' };
}

const parseHost: ts.ParseConfigFileHost = {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
    throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
  },
};

/** Parsed (and, once a program checked them, bound) files outside any scratch copy, by options and path. */
const shared = new Map<string, { mtimeMs: number; file: ts.SourceFile }>();

function cachingHost(root: string, optionsKey: string, options: ts.CompilerOptions): ts.CompilerHost {
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    if (fileName.startsWith(`${root}/`)) return read(fileName, languageVersion, onError, shouldCreate);
    const key = `${optionsKey}\0${JSON.stringify(languageVersion)}\0${fileName}`;
    const mtimeMs = statSync(fileName, { throwIfNoEntry: false })?.mtimeMs ?? -1;
    const cached = shared.get(key);
    if (cached && cached.mtimeMs === mtimeMs) return cached.file;
    const file = read(fileName, languageVersion, onError, shouldCreate);
    if (file) shared.set(key, { mtimeMs, file });
    return file;
  };
  return host;
}
