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
  start            start the database (the one setup chose)
  stop             stop the database that setup started
  status           which database is used, whether it runs, and migration status
  logs [-f]        the database server's log
  psql [args]      a psql session on DATABASE_URL
  reset [--yes] [--no-backup]
                   back up, drop the development database and migrate it again from scratch
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

db_kit() { node "$ROOT/shared/db-kit/bin/db-kit.mjs" "$@"; }

ensure_node() {
  command -v node >/dev/null 2>&1 || die "Node.js is not installed." "Install Node.js 20 or newer, then run setup again."
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" -ge 20 ] || die "Node.js $(node --version) is too old." "Install Node.js 20 or newer."
}

ensure_pnpm() {
  if command -v pnpm >/dev/null 2>&1 && [[ "$(pnpm --version 2>/dev/null)" == 10.* ]]; then return; fi
  if [ -x "$ROOT/.tools/bin/pnpm" ]; then export PATH="$ROOT/.tools/bin:$PATH"; return; fi
  echo "Installing pnpm $PNPM_VERSION (corepack is not used: its signature check can fail on registry mirrors)..."
  if ! npm install --loglevel=error -g "pnpm@$PNPM_VERSION" >/dev/null 2>&1; then
    # No permission for a global install: keep pnpm inside the checkout instead.
    npm install --prefix "$ROOT/.tools" "pnpm@$PNPM_VERSION" >/dev/null 2>&1 \
      || die "Could not install pnpm with npm." "Install pnpm $PNPM_VERSION yourself (npm install -g pnpm@10), then run setup again."
    export PATH="$ROOT/.tools/bin:$PATH"
  fi
  # npm's global bin folder may not be on PATH (nvm, custom prefixes): add it for this run.
  command -v pnpm >/dev/null 2>&1 || export PATH="$(npm prefix -g)/bin:$PATH"
  command -v pnpm >/dev/null 2>&1 || die "pnpm was installed but is not on PATH." "Add \"$(npm prefix -g)/bin\" to PATH, then run setup again."
}

cmd_setup() {
  ensure_node
  ensure_pnpm
  echo "Installing dependencies (pnpm install)..."
  pnpm install || die "pnpm install failed." "Run pnpm install to see why, then run setup again."
  db_kit server up
  db_kit migrate --all --quiet
  echo
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
cmd_stop() { needs_install; db_kit server stop; }
cmd_status() {
  needs_install
  # Migration status needs a running server; its exit 1 (pending work) is information here.
  if db_kit server status; then db_kit status || true; fi
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

main "$@"
