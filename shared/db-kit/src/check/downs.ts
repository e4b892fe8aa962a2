import { IRREVERSIBLE_ACCEPTED, downPath, readDownFile } from '../migrations/down';
import { historyOf } from '../migrations/history';
import type { SchemaPackage } from '../workspace';
import type { Finding } from './findings';

/**
 * Every migration should have a down that undoes it (`db-kit rollback` runs it). A migration
 * without one, or whose down leaves something undone that nobody accepted, is a warning.
 */
export function downFindings(pkg: SchemaPackage, backfillCommand: string): Finding[] {
  const findings: Finding[] = [];
  for (const entry of historyOf(pkg).entries) {
    const file = downPath(pkg, entry.tag);
    const down = readDownFile(pkg, entry.tag);
    if (!down || down.todo) {
      findings.push({
        rule: 'down-missing',
        severity: 'warning',
        // The file to write, even before it exists: the finding stays apart from the migration's own.
        file,
        message: down
          ? `the down of ${entry.tag} is not written yet (its todo line is still there).`
          : `${entry.tag} has no down (${entry.tag}.down.sql): it cannot be rolled back.`,
        next: down
          ? 'Write the SQL that undoes the migration, then delete the todo line.'
          : `Run ${backfillCommand} to compute it from the snapshots, then review it.`,
      });
      continue;
    }
    if (down.irreversible.length && !IRREVERSIBLE_ACCEPTED.test(down.sql)) {
      findings.push({
        rule: 'down-irreversible',
        severity: 'warning',
        file,
        message: `the down of ${entry.tag} cannot undo everything: ${down.irreversible.join('; ')}.`,
        next: 'If that is acceptable, say why on a line "-- db-kit: irreversible-accepted <reason>" in the down.',
      });
    }
  }
  return findings;
}
