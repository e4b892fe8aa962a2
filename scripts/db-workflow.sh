#!/usr/bin/env bash
# The newcomer's entry to the large-event database. Thin by design: every decision
# (which server, which port, what to migrate) is made by the engine, db-kit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PNPM_VERSION="10.34.9"
cd "$ROOT"

usage() {
  cat <<'USAGE'
Usage: ./scripts/db-workflow.sh <command> [options]

  setup            install everything, start a database, apply every package's migrations
  test [args]      pnpm test, also when pnpm is not on your PATH yet (setup says when)
  start            start the database (the one setup chose)
  stop             stop the database that setup started
  status           which database is used, whether it answers (exit 1 if not), and migration status
  logs [-f]        the database server's log
  psql [args]      a psql session on DATABASE_URL
  reset [--yes] [--no-backup]
                   back up, drop the whole database setup started, create it empty and migrate:
                   a clean slate, leftovers of other branches included. pnpm db:reset instead
                   drops only what the packages own, and works on your own DATABASE_URL too
  backup           dump the database to backups/<db>-<timestamp>.dump (git-ignored)
  restore <file> [--yes]
                   restore a backup into the database (asks first)
  help             this text

The database comes from, in order: DATABASE_URL (environment, then .env); the server setup
started before; docker compose when a Docker engine runs; else an embedded PostgreSQL from npm.
Set DB_ENGINE=url|compose|embedded to force one.
USAGE
}

die() { echo "error: $1" >&2; [ $# -gt 1 ] && echo "  next: $2" >&2; exit 2; }

db_kit() { node "$ROOT/shared/db-kit/bin/db-kit.cjs" "$@"; }

ensure_node() {
  command -v node >/dev/null 2>&1 || die "Node.js is not installed." "Install Node.js 20 or newer, then run setup again."
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" -ge 20 ] || die "Node.js $(node --version) is too old." "Install Node.js 20 or newer."
}

pnpm_ok() { [ -x "$1" ] && [[ "$("$1" --version 2>/dev/null)" == 10.* ]]; }

# The PATH of the shell that ran us: where a new shell will look for pnpm.
USER_PATH="$PATH"
# Set when pnpm is where a new shell will not find it: the line that fixes that.
PNPM_PATH_HINT=""

# pnpm 10 on PATH: already there, or installed with npm (globally, else into .tools/ of this
# checkout when the global folder is not writable). When a new shell would not find it (npm's
# global bin not on PATH, or the .tools fallback), link it into a folder on PATH we may write to
# (~/.local/bin, ~/bin, /usr/local/bin), else remember the line to print.
ensure_pnpm() {
  local found dir
  found="$(command -v pnpm 2>/dev/null || true)"
  if [ -n "$found" ] && pnpm_ok "$found"; then return; fi
  found=""
  for dir in "$ROOT/.tools/node_modules/.bin" "$(npm prefix -g 2>/dev/null)/bin"; do
    if pnpm_ok "$dir/pnpm"; then found="$dir"; break; fi
  done
  if [ -z "$found" ]; then
    echo "Installing pnpm $PNPM_VERSION (corepack is not used: its signature check can fail on registry mirrors)..."
    local log
    log="$(mktemp)"
    if npm install --loglevel=error --no-audit --no-fund -g "pnpm@$PNPM_VERSION" >"$log" 2>&1; then
      found="$(npm prefix -g)/bin"
    else
      # No permission for a global install: keep pnpm inside the checkout instead.
      if ! npm install --loglevel=error --no-audit --no-fund --prefix "$ROOT/.tools" "pnpm@$PNPM_VERSION" >"$log" 2>&1; then
        tail -n 5 "$log" >&2
        rm -f "$log"
        die "Could not install pnpm with npm (its last lines are above)." "Install pnpm $PNPM_VERSION yourself (npm install -g pnpm@10), then run setup again."
      fi
      found="$ROOT/.tools/node_modules/.bin"
    fi
    rm -f "$log"
    pnpm_ok "$found/pnpm" || die "pnpm was installed but does not run from $found." "Install pnpm $PNPM_VERSION yourself (npm install -g pnpm@10), then run setup again."
  fi
  export PATH="$found:$PATH"
  [ "${1:-}" = "--no-link" ] || link_pnpm "$found"
}

on_user_path() { case ":$USER_PATH:" in *":$1:"*) return 0 ;; *) return 1 ;; esac; }

link_pnpm() {
  local from="$1" dir
  if on_user_path "$from"; then return; fi
  for dir in "${HOME:-/nonexistent}/.local/bin" "${HOME:-/nonexistent}/bin" /usr/local/bin; do
    on_user_path "$dir" && [ -d "$dir" ] && [ -w "$dir" ] || continue
    if [ -e "$dir/pnpm" ] && ! [ -L "$dir/pnpm" ]; then continue; fi # someone's own pnpm: leave it
    ln -sfn "$from/pnpm" "$dir/pnpm" && echo "Linked pnpm into $dir (on your PATH), so a new shell finds it." && return
  done
  PNPM_PATH_HINT="export PATH=\"$from:\$PATH\""
}

cmd_setup() {
  ensure_node
  ensure_pnpm
  echo "Installing dependencies (pnpm install)..."
  pnpm install || die "pnpm install failed." "Run pnpm install to see why, then run setup again."
  db_kit server up
  db_kit migrate --all --quiet
  echo
  if [ -n "$PNPM_PATH_HINT" ]; then
    echo "pnpm is installed where a new shell does not look. Run this line (and add it to ~/.bashrc or ~/.zshrc):"
    echo "  $PNPM_PATH_HINT"
    echo "Until then, ./scripts/db-workflow.sh test runs the tests."
    echo
  fi
  echo "Ready. Next steps:"
  echo "  pnpm test                      run the test suite"
  echo "  pnpm db:generate --name <x>    after editing shared/database/src/schemas"
  echo "  pnpm teamd:db:generate --name <x> && pnpm teamd:db:migrate   for Team D"
  echo "  ./scripts/db-workflow.sh stop  stop the database"
}

needs_install() {
  [ -d "$ROOT/node_modules" ] || die "Dependencies are not installed." "Run ./scripts/db-workflow.sh setup first."
}

cmd_start() { needs_install; db_kit server up; }
# pnpm test, with the pnpm setup installed even when a new shell does not find it.
cmd_test() { needs_install; ensure_pnpm --no-link; pnpm test "$@"; }
cmd_stop() { needs_install; db_kit server stop; }
cmd_status() {
  needs_install
  local code=0
  # Not running or not reachable: exit 1, and db-kit has printed the next step.
  db_kit server status || exit $?
  # Migration status: pending work (exit 1) is information here; an error (exit 2) is not.
  db_kit status || code=$?
  [ "$code" -eq 1 ] && code=0
  exit "$code"
}
cmd_logs() { needs_install; db_kit server logs "$@"; }
cmd_psql() { needs_install; db_kit server psql -- "$@"; }

cmd_reset() {
  needs_install
  local yes="" backup=1
  for arg in "$@"; do
    case "$arg" in
      --yes|-y) yes=1 ;;
      --no-backup) backup="" ;;
      *) die "reset does not take \"$arg\"." "Usage: ./scripts/db-workflow.sh reset [--yes] [--no-backup]" ;;
    esac
  done
  if [ -z "$yes" ]; then
    [ -t 0 ] || die "reset needs confirmation, and there is no terminal to ask." "Run it with --yes."
    read -r -p "Drop the development database and migrate it again? All its data is lost. [y/N] " answer
    [[ "$answer" =~ ^[Yy]$ ]] || { echo "Nothing changed."; exit 0; }
  fi
  if [ -n "$backup" ]; then db_kit backup; fi
  db_kit server reset
  db_kit migrate --all --quiet
}

cmd_backup() { needs_install; db_kit backup "$@"; }
cmd_restore() { needs_install; db_kit restore "$@"; }

main() {
  local command="${1:-help}"
  [ $# -gt 0 ] && shift
  case "$command" in
    setup) cmd_setup "$@" ;;
    test) cmd_test "$@" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    logs) cmd_logs "$@" ;;
    psql) cmd_psql "$@" ;;
    reset) cmd_reset "$@" ;;
    backup) cmd_backup "$@" ;;
    restore) cmd_restore "$@" ;;
    help|-h|--help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

# Sourced (by a test) it only defines the functions.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
