// pnpm's bin shims made before the launcher became bin/db-kit.cjs point here; `pnpm install` renews them.
import './db-kit.cjs';
