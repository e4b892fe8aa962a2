import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import {
  IndentationText,
  Node,
  Project,
  QuoteKind,
  SyntaxKind,
  ts,
  type ExportDeclaration,
  type ImportDeclaration,
  type SourceFile,
  type Statement,
} from 'ts-morph';
import { DbKitError } from '../errors';
import { scriptFor } from '../scripts';
import type { SchemaPackage } from '../workspace';
import type { FileChange } from './changes';

export interface CodeMove {
  /** Target file in the shared package, one per promoted table. */
  target: string;
  table: string;
  /** Declarations moved into it (the table, its enums and helpers, types derived from it). */
  names: string[];
  /** Helpers the team keeps using: they stay, and the target gets a private (unexported) copy. */
  copied: string[];
  from: string[];
}

export interface CodePlan {
  moves: CodeMove[];
  changes: FileChange[];
}

/** Where a moved declaration goes. */
interface Moved {
  statement: Statement;
  target: string;
  /** Names it declares. */
  names: string[];
  /** Exported before the move: part of the team package's API, which must keep it. */
  wasExported: boolean;
  /** Needs `export` in its new file: it was exported, or another file uses it. */
  exported: boolean;
  /** A private copy: the original stays in the team, which still uses it. */
  copy?: boolean;
}

/** What a statement refers to outside itself: a top-level statement of the team package, or an import. */
type Reference =
  | { kind: 'team'; statement: Statement; importedName: string; localName: string }
  | { kind: 'import'; declaration: ImportDeclaration; node: Node; localName: string };

/**
 * Moves the TypeScript of promoted tables from a team package into the shared package with
 * ts-morph: each table goes to `<shared schemas>/<table-name>.ts` with the enums and helpers it
 * uses and the types derived from it, and is exported from the shared schema entry. Team files
 * that still use a moved name import it from the shared package; files left empty are removed.
 * Nothing is written: the result is the list of file changes.
 *
 * @example
 *   const { changes } = planCodeMove(ws.resolve('teamd'), ws.shared[0], ['teamd_projects']);
 */
export function planCodeMove(team: SchemaPackage, shared: SchemaPackage, tables: string[]): CodePlan {
  return new CodeMovePlanner(team, shared, tables).plan();
}

/** The steps of planCodeMove, in order, over one ts-morph project of the team and shared packages. */
class CodeMovePlanner {
  private readonly project: Project;
  private readonly teamFiles: SourceFile[];
  private readonly originals: Map<string, string>;
  /** Resolved before any edit: a file emptied by the move is no module any more, and its importers must go. */
  private readonly resolvedBefore = new Map<ImportDeclaration | ExportDeclaration, SourceFile>();
  private readonly schemaEntry: SourceFile;
  private readonly sharedEntry: SourceFile;
  private readonly schemasDir: string;
  private readonly tableStatements: Map<string, Statement>;
  private readonly tableOf: Map<Statement, string>;
  private readonly referencesCache = new Map<Statement, Reference[]>();
  private readonly moved = new Map<Statement, Moved>();
  /** target -> the private copies in it */
  private readonly copies = new Map<string, Map<Statement, Moved>>();
  private readonly movedNames = new Map<string, Moved>();
  /** team file -> local name -> the name it imports from the shared package */
  private readonly sharedImports = new Map<SourceFile, Map<string, string>>();
  private readonly specifierEdits: Array<() => void> = [];
  private readonly newFiles = new Map<string, Moved[]>();

  constructor(
    private readonly team: SchemaPackage,
    private readonly shared: SchemaPackage,
    private readonly tables: string[],
  ) {
    this.project = lightProject([team, shared]);
    this.project.addSourceFilesAtPaths([join(team.dir, 'src/**/*.ts'), join(shared.dir, 'src/**/*.ts')]);
    this.teamFiles = this.project.getSourceFiles().filter((sf) => this.isTeamFile(sf));
    this.originals = new Map(this.project.getSourceFiles().map((sf) => [sf.getFilePath(), sf.getFullText()]));
    for (const sf of this.teamFiles) {
      for (const declaration of [...sf.getImportDeclarations(), ...sf.getExportDeclarations()]) {
        const from = declaration.getModuleSpecifierSourceFile();
        if (from && this.isTeamFile(from)) this.resolvedBefore.set(declaration, from);
      }
    }
    this.schemaEntry = this.entryOf(team);
    this.sharedEntry = this.entryOf(shared);
    this.schemasDir = dirname(this.sharedEntry.getFilePath());
    this.tableStatements = this.findPromotedTables();
    this.tableOf = new Map([...this.tableStatements].map(([name, statement]) => [statement, name]));
  }

  plan(): CodePlan {
    const closure = this.closure();
    const stays = this.helpersThatStay(closure);
    this.assignTargets(stays);
    this.addDerivedTypes();
    for (const m of this.moved.values()) for (const name of m.names) this.movedNames.set(name, m);
    this.rewireTeamImports();
    this.exportAcrossNewFiles();
    // Compose the new shared files before the team's statements are removed.
    const texts = this.composeNewFiles();
    const { touched, emptied } = this.editTeamFiles();
    for (const [target, text] of texts) this.project.createSourceFile(target, text);
    this.keepTeamExports(touched);
    return this.result(texts, touched, emptied);
  }

  private isTeamFile(sf: SourceFile): boolean {
    return isInside(this.team.dir, sf.getFilePath()) && !sf.getFilePath().includes(`${sep}node_modules${sep}`);
  }

  private entryOf(pkg: SchemaPackage): SourceFile {
    const entry = this.project.getSourceFile(join(pkg.dir, pkg.schema));
    if (!entry)
      throw new DbKitError(
        `${pkg.name}: its schema entry ${pkg.schema} does not exist.`,
        'Fix "dbKit.schema" in its package.json.',
      );
    return entry;
  }

  private targetOf(table: string): string {
    return join(this.schemasDir, `${table.replace(/_/g, '-')}.ts`);
  }

  /** The exported pgTable of each promoted table, by name; a table missing from the code is refused. */
  private findPromotedTables(): Map<string, Statement> {
    const { team } = this;
    const found = findTables(this.schemaEntry, team);
    for (const table of this.tables) {
      if (!found.has(table)) {
        throw new DbKitError(
          `${team.name}: no exported pgTable('${table}') in the schema reachable from ${team.schema}, although its ` +
            `snapshot has the table.`,
          `Run ${scriptFor(team, 'generate', team)} so the snapshot matches the code, then promote again.`,
        );
      }
    }
    return found;
  }

  /** What a statement refers to outside itself: team statements (directly or through an import), or imports. */
  private referencesOf = (statement: Statement): Reference[] => {
    const cached = this.referencesCache.get(statement);
    if (cached) return cached;
    const refs: Reference[] = [];
    const seen = new Set<string>();
    for (const id of statement.getDescendantsOfKind(SyntaxKind.Identifier)) {
      const symbol = id.getSymbol();
      const declaration = symbol?.getDeclarations()[0];
      const localName = id.getText();
      if (!symbol || !declaration || seen.has(localName)) continue;
      if (
        Node.isImportSpecifier(declaration) ||
        Node.isImportClause(declaration) ||
        Node.isNamespaceImport(declaration)
      ) {
        seen.add(localName);
        const target = symbol.getAliasedSymbol()?.getDeclarations()[0];
        const targetStatement =
          target && this.isTeamFile(target.getSourceFile()) ? topLevelStatement(target) : undefined;
        if (targetStatement) {
          const importedName = Node.isImportSpecifier(declaration) ? declaration.getName() : localName;
          refs.push({ kind: 'team', statement: targetStatement, importedName, localName });
        } else {
          refs.push({
            kind: 'import',
            declaration: declaration.getFirstAncestorByKindOrThrow(SyntaxKind.ImportDeclaration),
            node: declaration,
            localName,
          });
        }
        continue;
      }
      if (!this.isTeamFile(declaration.getSourceFile())) continue;
      const top = topLevelStatement(declaration);
      if (!top || top === statement || Node.isImportDeclaration(top)) continue;
      seen.add(localName);
      refs.push({ kind: 'team', statement: top, importedName: localName, localName });
    }
    this.referencesCache.set(statement, refs);
    return refs;
  };

  private teamRefs(statement: Statement): Array<Extract<Reference, { kind: 'team' }>> {
    return this.referencesOf(statement).filter((r): r is Extract<Reference, { kind: 'team' }> => r.kind === 'team');
  }

  private movedEntry(statement: Statement, target: string): Moved {
    const wasExported = Node.isExportable(statement) && statement.isExported();
    return { statement, target, names: declaredNames(statement), wasExported, exported: wasExported };
  }

  /** Everything the promoted tables need; a table that needs a table left behind is refused. */
  private closure(): Set<Statement> {
    const { tables } = this;
    const refusals: string[] = [];
    const closure = new Set<Statement>();
    for (const table of tables) {
      const queue = [this.tableStatements.get(table)!];
      while (queue.length) {
        const statement = queue.shift()!;
        if (closure.has(statement)) continue;
        closure.add(statement);
        for (const ref of this.teamRefs(statement)) {
          const other = this.tableOf.get(ref.statement);
          if (other && !tables.includes(other))
            refusals.push(`${table} uses ${other} (${ref.localName}) in its TypeScript`);
          else queue.push(ref.statement);
        }
      }
    }
    if (refusals.length) {
      throw new DbKitError(
        `Cannot promote ${tables.join(', ')} alone: ${refusals.join('; ')}.`,
        `Promote them together: --tables ` +
          `${[...new Set([...tables, ...refusals.map((r) => r.split(' ')[2]!)])].join(',')}.`,
      );
    }
    return closure;
  }

  /**
   * A helper that team code staying behind also uses is not the promoted tables' to take: it stays in the team,
   * and each shared file that needs it gets a private copy. Database objects (enums, tables...) are never copied.
   */
  private helpersThatStay(closure: Set<Statement>): Set<Statement> {
    const stays = new Set<Statement>();
    for (let grew = true; grew; ) {
      grew = false;
      for (const sf of this.teamFiles) {
        for (const statement of sf.getStatements()) {
          if (Node.isImportDeclaration(statement) || Node.isExportDeclaration(statement)) continue;
          if (closure.has(statement) && !stays.has(statement)) continue;
          for (const ref of this.teamRefs(statement)) {
            if (!closure.has(ref.statement) || stays.has(ref.statement) || isDatabaseObject(ref.statement)) continue;
            stays.add(ref.statement);
            grew = true;
          }
        }
      }
    }
    const uncopyable = [...stays].filter((s) => !isCopyable(s));
    if (uncopyable.length) {
      const names = uncopyable.flatMap(declaredNames);
      const { team, shared, tables } = this;
      throw new DbKitError(
        `Cannot promote ${tables.join(', ')}: ${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} also used ` +
          `by ${team.name} code that stays, and promote copies only functions, consts and types.`,
        `Move ${names.join(', ')} into ${shared.name} (exported) and import ${names.length === 1 ? 'it' : 'them'} ` +
          'from there, then promote again.',
      );
    }
    return stays;
  }

  /** Each table's file gets what it needs: moved there (first table to need it), or a private copy of a helper. */
  private assignTargets(stays: Set<Statement>): void {
    for (const table of this.tables) {
      const target = this.targetOf(table);
      const queue = [this.tableStatements.get(table)!];
      const seen = new Set<Statement>();
      while (queue.length) {
        const statement = queue.shift()!;
        if (seen.has(statement)) continue;
        seen.add(statement);
        if (stays.has(statement)) {
          if (!this.copies.has(target)) this.copies.set(target, new Map());
          const copy = { ...this.movedEntry(statement, target), exported: false, copy: true };
          this.copies.get(target)!.set(statement, copy);
        } else if (this.moved.has(statement)) continue;
        else this.moved.set(statement, this.movedEntry(statement, target));
        for (const ref of this.teamRefs(statement)) queue.push(ref.statement);
      }
    }
  }

  /** The entry a statement of `target`'s file refers to for `statement`: its copy there, or where it moved. */
  private entryFor = (statement: Statement, target: string): Moved | undefined =>
    this.copies.get(target)?.get(statement) ?? this.moved.get(statement);

  /** Types derived only from moved declarations (`typeof teamdProjects.$inferSelect`) move too. */
  private addDerivedTypes(): void {
    const { moved } = this;
    for (let grew = true; grew; ) {
      grew = false;
      for (const sf of new Set([...moved.keys()].map((s) => s.getSourceFile()))) {
        for (const statement of sf.getStatements()) {
          if (
            moved.has(statement) ||
            !(Node.isTypeAliasDeclaration(statement) || Node.isInterfaceDeclaration(statement))
          )
            continue;
          const refs = this.teamRefs(statement);
          if (!refs.length || !refs.every((r) => moved.has(r.statement))) continue;
          moved.set(statement, this.movedEntry(statement, moved.get(refs[0]!.statement)!.target));
          grew = true;
        }
      }
    }
  }

  private addSharedImport(sf: SourceFile, importedName: string, localName: string): void {
    if (!this.sharedImports.has(sf)) this.sharedImports.set(sf, new Map());
    this.sharedImports.get(sf)!.set(localName, importedName);
    this.movedNames.get(importedName)!.exported = true;
  }

  /**
   * Team code that stays and uses a moved name imports it from the shared package afterwards, and relative
   * imports and re-exports of moved names from team files are planned for removal.
   */
  private rewireTeamImports(): void {
    const { moved, movedNames } = this;
    for (const sf of this.teamFiles) {
      for (const statement of sf.getStatements()) {
        if (moved.has(statement) || Node.isImportDeclaration(statement) || Node.isExportDeclaration(statement))
          continue;
        for (const ref of this.teamRefs(statement)) {
          if (moved.has(ref.statement) && ref.statement.getSourceFile() === sf)
            this.addSharedImport(sf, ref.importedName, ref.localName);
        }
      }
    }
    for (const sf of this.teamFiles) {
      for (const declaration of sf.getImportDeclarations()) {
        const from = declaration.getModuleSpecifierSourceFile();
        if (!from || !this.isTeamFile(from)) continue;
        for (const specifier of declaration.getNamedImports()) {
          if (movedNames.get(specifier.getName())?.statement.getSourceFile() !== from) continue;
          this.addSharedImport(sf, specifier.getName(), specifier.getAliasNode()?.getText() ?? specifier.getName());
          this.specifierEdits.push(() => specifier.remove());
        }
      }
      for (const declaration of sf.getExportDeclarations()) {
        const from = declaration.getModuleSpecifierSourceFile();
        if (!from || !this.isTeamFile(from)) continue;
        for (const specifier of declaration.getNamedExports()) {
          if (movedNames.get(specifier.getName())?.statement.getSourceFile() === from)
            this.specifierEdits.push(() => specifier.remove());
        }
      }
    }
  }

  /** Groups the entries by new file; moved statements that use each other across new files need exports too. */
  private exportAcrossNewFiles(): void {
    const entries = [...this.moved.values(), ...[...this.copies.values()].flatMap((c) => [...c.values()])];
    for (const m of entries) this.newFiles.set(m.target, [...(this.newFiles.get(m.target) ?? []), m]);
    for (const m of entries) {
      for (const ref of this.teamRefs(m.statement)) {
        const dep = this.entryFor(ref.statement, m.target)!;
        if (dep.target !== m.target) dep.exported = true;
      }
    }
  }

  private composeNewFiles(): Map<string, string> {
    const texts = new Map<string, string>();
    for (const [target, members] of this.newFiles) {
      if (existsSync(target))
        throw new DbKitError(
          `${target} already exists.`,
          `Promote writes one new file per table; move or rename ${basename(target)} first.`,
        );
      texts.set(target, this.composeFile(target, order(members, this.referencesOf, this.entryFor)));
    }
    return texts;
  }

  /** A new shared file: where it came from, its imports, then its members in dependency order. */
  private composeFile(target: string, members: Moved[]): string {
    const body = members.map((m) => {
      const text = m.statement.getFullText().replace(/^\s+/, '');
      const isExported = Node.isExportable(m.statement) && m.statement.isExported();
      if (m.exported && !isExported) return `export ${text}`;
      if (!m.exported && isExported) return withoutExport(m.statement);
      return text;
    });
    const sources = [
      ...new Set(members.map((m) => relative(this.team.dir, m.statement.getSourceFile().getFilePath()))),
    ].join(', ');
    return [
      `// Promoted from ${this.team.name} (${sources}) by db-kit promote.`,
      ...this.importLinesFor(target, members),
      '',
      body.join('\n\n'),
      '',
    ].join('\n');
  }

  /** The import lines a new file needs: other new files, the shared package's own files, and external modules. */
  private importLinesFor(target: string, members: Moved[]): string[] {
    const imports = new Map<string, Map<string, string>>(); // module -> local -> "imported as local" text
    const namespaceOrDefault = new Set<string>();
    const addImport = (module: string, local: string, text: string) => {
      if (!imports.has(module)) imports.set(module, new Map());
      imports.get(module)!.set(local, text);
    };
    for (const m of members) {
      for (const ref of this.referencesOf(m.statement)) {
        if (ref.kind === 'team') {
          const dep = this.entryFor(ref.statement, target)!;
          if (dep.target !== target)
            addImport(relativeModule(target, dep.target), ref.localName, spec(ref.importedName, ref.localName));
          continue;
        }
        const imported = this.carriedImport(ref, target);
        if (typeof imported === 'string') namespaceOrDefault.add(imported);
        else addImport(imported.module, ref.localName, imported.text);
      }
    }
    const modules = [...imports.keys()].sort((a, b) =>
      a.startsWith('.') === b.startsWith('.') ? a.localeCompare(b) : a.startsWith('.') ? 1 : -1,
    );
    return [
      ...namespaceOrDefault,
      ...modules.map((module) => {
        const names = [...imports.get(module)!.values()]
          .sort((a, b) => a.replace(/^type /, '').localeCompare(b.replace(/^type /, '')))
          .join(', ');
        return `import { ${names} } from '${module}';`;
      }),
    ];
  }

  /**
   * How an import of a moved statement is written in its new file: a whole import line for a namespace or default
   * import, else the module and the specifier. A name from the shared package is imported from the shared file that
   * defines it; a name from another team file cannot come along.
   */
  private carriedImport(
    ref: Extract<Reference, { kind: 'import' }>,
    target: string,
  ): string | { module: string; text: string } {
    const { shared, team } = this;
    const module = ref.declaration.getModuleSpecifierValue();
    const source = ref.declaration.getModuleSpecifierSourceFile();
    const typeOnly = ref.declaration.isTypeOnly() || (Node.isImportSpecifier(ref.node) && ref.node.isTypeOnly());
    const fromShared =
      module === shared.name ||
      module.startsWith(`${shared.name}/`) ||
      (source && isInside(shared.dir, source.getFilePath()));
    if (Node.isNamespaceImport(ref.node) || Node.isImportClause(ref.node)) {
      if (fromShared)
        throw new DbKitError(
          `${ref.declaration.getSourceFile().getFilePath()}: a default or namespace import from ${module} cannot ` +
            `be moved into ${shared.name}.`,
          'Import the names you use instead, then promote again.',
        );
      return (
        `import ${typeOnly ? 'type ' : ''}` +
        `${Node.isNamespaceImport(ref.node) ? `* as ${ref.localName}` : ref.localName} from '${module}';`
      );
    }
    const importedName = Node.isImportSpecifier(ref.node) ? ref.node.getName() : ref.localName;
    let targetModule = module;
    if (fromShared) {
      const exporter = definingFile(this.project, shared, importedName);
      if (!exporter)
        throw new DbKitError(`${shared.name} does not export ${importedName} from a file under ${shared.dir}/src.`);
      targetModule = relativeModule(target, exporter);
    } else if (module.startsWith('.')) {
      throw new DbKitError(
        `${ref.declaration.getSourceFile().getFilePath()}: ${importedName} comes from ${module}, a ${team.name} ` +
          `file promote cannot move.`,
        'Move that helper next to the table, or into the shared package, then promote again.',
      );
    }
    return { module: targetModule, text: `${typeOnly ? 'type ' : ''}${spec(importedName, ref.localName)}` };
  }

  /**
   * Removes what moved from the team's files and imports it from shared instead. Statements that were neighbours
   * before keep the gap they had: only where one was removed between two may a blank line be put back.
   */
  private editTeamFiles(): { touched: Set<SourceFile>; emptied: SourceFile[] } {
    const originalIndex = new Map<Statement, number>();
    for (const sf of this.teamFiles)
      for (const [i, statement] of sf.getStatements().entries()) originalIndex.set(statement, i);
    for (const edit of this.specifierEdits) edit();
    const touched = new Set<SourceFile>(this.sharedImports.keys());
    for (const m of this.moved.values()) touched.add(m.statement.getSourceFile());
    for (const m of this.moved.values()) m.statement.remove();
    for (const [sf, names] of this.sharedImports) addNamedImports(sf, this.shared.name, names);
    for (const sf of this.teamFiles) {
      for (const declaration of sf.getImportDeclarations()) {
        if (touched.has(sf)) removeUnusedSpecifiers(declaration);
        if (
          !declaration.getDefaultImport() &&
          !declaration.getNamespaceImport() &&
          declaration.getNamedImports().length === 0 &&
          declaration.getImportClause()
        )
          declaration.remove();
      }
      for (const declaration of sf.getExportDeclarations()) {
        if (declaration.hasNamedExports() && declaration.getNamedExports().length === 0) declaration.remove();
      }
    }
    const emptied = this.teamFiles.filter(
      (sf) => touched.has(sf) && sf.getStatements().every((s) => Node.isImportDeclaration(s)),
    );
    for (const [declaration, from] of this.resolvedBefore) {
      if (emptied.includes(from) && !declaration.wasForgotten() && !emptied.includes(declaration.getSourceFile()))
        declaration.remove();
    }
    const wereNeighbours = (previous: Statement, next: Statement) => {
      const [a, b] = [originalIndex.get(previous), originalIndex.get(next)];
      return a !== undefined && b === a + 1;
    };
    for (const sf of touched) if (!emptied.includes(sf)) separateStatements(sf, wereNeighbours);
    for (const target of this.newFiles.keys())
      this.sharedEntry.addExportDeclaration({ moduleSpecifier: `./${basename(target, '.ts')}` });
    return { touched, emptied };
  }

  /** The team's schema entry no longer exports what moved, and its package entry still does. */
  private keepTeamExports(touched: Set<SourceFile>): void {
    const { team, shared, movedNames } = this;
    const stillExported = [...this.schemaEntry.getExportedDeclarations().keys()].filter((name) => movedNames.has(name));
    if (stillExported.length) {
      throw new DbKitError(
        `${team.schema} would still export ${stillExported.join(', ')} after the move, so the team would keep ` +
          `owning them.`,
        `Remove those exports from ${team.schema} by hand, then promote again.`,
      );
    }
    const packageEntry = this.project.getSourceFile(join(team.dir, packageMain(team)));
    if (!packageEntry || packageEntry === this.schemaEntry) return;
    const exported = packageEntry.getExportedDeclarations();
    const missing = [...this.moved.values()]
      .filter((m) => m.wasExported)
      .flatMap((m) => m.names)
      .filter((name) => !exported.has(name));
    if (missing.length) {
      packageEntry.addExportDeclaration({ namedExports: missing.sort(), moduleSpecifier: shared.name });
      touched.add(packageEntry);
    }
  }

  private result(texts: Map<string, string>, touched: Set<SourceFile>, emptied: SourceFile[]): CodePlan {
    const changes: FileChange[] = [];
    for (const sf of new Set([
      ...touched,
      ...this.teamFiles.filter((f) => f.getFullText() !== this.originals.get(f.getFilePath())),
      this.sharedEntry,
    ])) {
      const path = sf.getFilePath();
      const before = this.originals.get(path) ?? readFileSync(path, 'utf8');
      const after = emptied.includes(sf) ? undefined : sf.getFullText();
      if (after !== before) changes.push({ path, before, after });
    }
    for (const [target, text] of texts) changes.push({ path: target, before: undefined, after: text });
    const moves: CodeMove[] = [...this.newFiles].map(([target, members]) => ({
      target,
      table: this.tables.find((t) => this.targetOf(t) === target)!,
      names: members.filter((m) => !m.copy).flatMap((m) => m.names),
      copied: members.filter((m) => m.copy).flatMap((m) => m.names),
      from: [...new Set(members.map((m) => m.statement.getSourceFile().getFilePath() as string))],
    }));
    return { moves, changes: changes.sort((a, b) => a.path.localeCompare(b.path)) };
  }
}

/**
 * A project that resolves only relative imports and the workspace's schema packages. Module
 * names such as drizzle-orm stay unresolved: loading their types would cost seconds, and an
 * import from them is copied as it is written.
 */
function lightProject(packages: SchemaPackage[]): Project {
  const entries = new Map(packages.map((p) => [p.name, join(p.dir, packageMain(p))]));
  return new Project({
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      target: ts.ScriptTarget.ES2022,
      noLib: true,
      types: [],
    },
    skipFileDependencyResolution: true,
    manipulationSettings: {
      quoteKind: QuoteKind.Single,
      indentationText: IndentationText.TwoSpaces,
      useTrailingCommas: true,
    },
    resolutionHost: (host, getOptions) => ({
      resolveModuleNames: (names, containingFile) =>
        names.map((name) => {
          const entry = entries.get(name);
          if (entry) return { resolvedFileName: entry, extension: ts.Extension.Ts, isExternalLibraryImport: false };
          return name.startsWith('.')
            ? ts.resolveModuleName(name, containingFile, getOptions(), host).resolvedModule
            : undefined;
        }),
    }),
  });
}

/** `pgTable('teamd_projects', ...)` declarations reachable from the schema entry, by table name. */
function findTables(schemaEntry: SourceFile, team: SchemaPackage): Map<string, Statement> {
  const found = new Map<string, Statement>();
  for (const declarations of schemaEntry.getExportedDeclarations().values()) {
    for (const declaration of declarations) {
      if (!Node.isVariableDeclaration(declaration)) continue;
      const init = declaration.getInitializer();
      if (!init || !Node.isCallExpression(init)) continue;
      const callee = init.getExpression().getText();
      const [first] = init.getArguments();
      if (!/(^|\.)(pg)?[Tt]able$/.test(callee) || !first || !Node.isStringLiteral(first)) continue;
      const statement = declaration.getVariableStatement();
      if (statement) found.set(first.getLiteralValue(), statement);
    }
  }
  if (found.size === 0) throw new DbKitError(`${team.name}: found no pgTable(...) exported from ${team.schema}.`);
  return found;
}

/** `statement`'s text with its leading comments, minus its `export` keyword. */
function withoutExport(statement: Statement): string {
  const keyword =
    statement.getFirstChildByKind(SyntaxKind.SyntaxList)?.getFirstChildByKind(SyntaxKind.ExportKeyword) ??
    statement.getFirstDescendantByKind(SyntaxKind.ExportKeyword);
  const full = statement.getFullText();
  if (!keyword) return full.replace(/^\s+/, '');
  const start = keyword.getStart() - statement.getPos();
  const end = keyword.getEnd() - statement.getPos();
  return (full.slice(0, start) + full.slice(end).replace(/^[ \t]+/, '')).replace(/^\s+/, '');
}

/** A call that declares a database object (`pgEnum(...)`, `pgTable(...)`, `schema.table(...)`...), not a helper. */
function isDatabaseObject(statement: Statement): boolean {
  if (!Node.isVariableStatement(statement)) return false;
  return statement.getDeclarations().some((d) => {
    let expression = d.getInitializer();
    while (expression && (Node.isCallExpression(expression) || Node.isPropertyAccessExpression(expression))) {
      if (Node.isCallExpression(expression)) {
        const callee = expression.getExpression();
        const name = Node.isPropertyAccessExpression(callee) ? callee.getName() : callee.getText();
        if (/^(pg)?(table|enum|schema|sequence|view|materializedview|role|policy)$/i.test(name)) return true;
        expression = callee;
      } else expression = expression.getExpression();
    }
    return false;
  });
}

/** A declaration whose copy behaves like the original: a function, a `const`, a type. */
function isCopyable(statement: Statement): boolean {
  if (Node.isFunctionDeclaration(statement) || Node.isTypeAliasDeclaration(statement)) return true;
  if (Node.isInterfaceDeclaration(statement)) return true;
  return Node.isVariableStatement(statement) && statement.getDeclarationKind() === 'const';
}

/** The top-level statement that `declaration` declares (a const, function, type...), if it is one. */
function topLevelStatement(declaration: Node): Statement | undefined {
  const statement = Node.isVariableDeclaration(declaration) ? declaration.getVariableStatement() : declaration;
  return statement && Node.isStatement(statement) && Node.isSourceFile(statement.getParent()) ? statement : undefined;
}

function declaredNames(statement: Statement): string[] {
  if (Node.isVariableStatement(statement)) return statement.getDeclarations().map((d) => d.getName());
  if (
    Node.isTypeAliasDeclaration(statement) ||
    Node.isInterfaceDeclaration(statement) ||
    Node.isEnumDeclaration(statement)
  )
    return [statement.getName()];
  if (Node.isFunctionDeclaration(statement) || Node.isClassDeclaration(statement))
    return statement.getName() ? [statement.getName()!] : [];
  return [];
}

/** Dependencies before dependents (a table after the enum it calls), else the original order. */
function order(
  members: Moved[],
  referencesOf: (s: Statement) => Reference[],
  entryFor: (s: Statement, target: string) => Moved | undefined,
): Moved[] {
  const sorted: Moved[] = [];
  const visit = (m: Moved, trail: Set<Moved>) => {
    if (sorted.includes(m) || trail.has(m)) return;
    trail.add(m);
    for (const ref of referencesOf(m.statement)) {
      const dep = ref.kind === 'team' ? entryFor(ref.statement, m.target) : undefined;
      if (dep && members.includes(dep)) visit(dep, trail);
    }
    sorted.push(m);
  };
  const byPosition = [...members].sort((a, b) =>
    a.statement.getSourceFile() === b.statement.getSourceFile() ? a.statement.getPos() - b.statement.getPos() : 0,
  );
  for (const m of byPosition) visit(m, new Set());
  return sorted;
}

/**
 * Puts back the blank line that removing a statement can take with it (only where a multi-line statement or a doc
 * comment touches its neighbour). Statements that were neighbours before the move are left as they were written.
 */
function separateStatements(sf: SourceFile, wereNeighbours: (previous: Statement, next: Statement) => boolean): void {
  const pairs = sf
    .getStatements()
    .map((statement, i, all) => i > 0 && !wereNeighbours(all[i - 1]!, statement))
    .map((check, i) => (check ? i : -1))
    .filter((i) => i > 0);
  for (const i of pairs.reverse()) {
    // insertText forgets every node, so look them up again each time.
    const [previous, next] = [sf.getStatements()[i - 1]!, sf.getStatements()[i]!];
    if (Node.isImportDeclaration(previous) && Node.isImportDeclaration(next)) continue;
    const gap = sf.getFullText().slice(previous.getEnd(), next.getStart(true));
    const spansLines = (s: Statement) => s.getText(true).includes('\n');
    const boundary = Node.isImportDeclaration(previous) !== Node.isImportDeclaration(next);
    if (!gap.includes('\n\n') && (boundary || spansLines(previous) || spansLines(next)))
      sf.insertText(previous.getEnd(), '\n');
  }
}

function spec(imported: string, local: string): string {
  return imported === local ? imported : `${imported} as ${local}`;
}

/** The file under the shared package that declares `name`, found through its schema entry. */
function definingFile(project: Project, shared: SchemaPackage, name: string): string | undefined {
  for (const entry of [shared.schema, packageMain(shared)]) {
    const sf = project.getSourceFile(join(shared.dir, entry));
    const declaration = sf?.getExportedDeclarations().get(name)?.[0];
    if (declaration && isInside(shared.dir, declaration.getSourceFile().getFilePath()))
      return declaration.getSourceFile().getFilePath();
  }
  return undefined;
}

function relativeModule(from: string, to: string): string {
  const path = relative(dirname(from), to).replace(/\.ts$/, '').split(sep).join('/');
  return path.startsWith('.') ? path : `./${path}`;
}

function addNamedImports(sf: SourceFile, module: string, names: Map<string, string>): void {
  const specs = [...names].map(([local, imported]) =>
    local === imported ? { name: imported } : { name: imported, alias: local },
  );
  const existing = sf
    .getImportDeclarations()
    .find((d) => d.getModuleSpecifierValue() === module && !d.isTypeOnly() && !d.getNamespaceImport());
  if (existing) {
    const have = new Set(existing.getNamedImports().map((s) => s.getAliasNode()?.getText() ?? s.getName()));
    existing.addNamedImports(specs.filter((s) => !have.has(s.alias ?? s.name)));
  } else {
    sf.insertImportDeclaration(sf.getImportDeclarations().length, { moduleSpecifier: module, namedImports: specs });
  }
}

/** Drops named imports nothing in the file refers to any more (after statements moved away). */
function removeUnusedSpecifiers(declaration: ImportDeclaration): void {
  const sf = declaration.getSourceFile();
  const used = new Set<string>();
  for (const statement of sf.getStatements()) {
    if (Node.isImportDeclaration(statement)) continue;
    for (const id of statement.getDescendantsOfKind(SyntaxKind.Identifier)) used.add(id.getText());
  }
  for (const specifier of declaration.getNamedImports()) {
    if (!used.has(specifier.getAliasNode()?.getText() ?? specifier.getName())) specifier.remove();
  }
}

function packageMain(pkg: SchemaPackage): string {
  const manifest = JSON.parse(readFileSync(join(pkg.dir, 'package.json'), 'utf8')) as {
    main?: string;
    exports?: unknown;
  };
  const exports = manifest.exports as Record<string, unknown> | string | undefined;
  const dot = typeof exports === 'string' ? exports : (exports?.['.'] as Record<string, string> | string | undefined);
  const entry = typeof dot === 'string' ? dot : (dot?.types ?? dot?.import ?? manifest.main ?? 'src/index.ts');
  return entry.replace(/^\.\//, '');
}

function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep);
}
