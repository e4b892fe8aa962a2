// Preloaded (node --require) into drizzle-kit's process when db-kit shares the terminal with it:
// drops the stdout writes that contain DB_KIT_DROP_STDOUT. db-kit generate renames the file
// drizzle-kit wrote, so drizzle-kit's "Your SQL migration file ➜ drizzle/0003_x.sql 🚀" names a
// file that no longer exists; db-kit prints the real name itself. Prompts pass through untouched.
const dropped = process.env.DB_KIT_DROP_STDOUT;
if (dropped) {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk, ...rest) => {
    if (String(chunk).includes(dropped)) {
      const callback = rest.find((arg) => typeof arg === 'function');
      if (callback) callback();
      return true;
    }
    return write(chunk, ...rest);
  };
}
