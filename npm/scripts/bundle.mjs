// Copies the repository's language-neutral files into the package before `npm pack`, and
// removes the copies afterwards (`--clean`), so the repository keeps one copy of each.
//
// The package folder sits in the repository, beside the folders it ships: ../schemas,
// ../fixtures, ../CLIENTS.md and ../LICENSE become schemas/, fixtures/, CLIENTS.md and LICENSE
// here. `npm pack` runs this as its prepack step (then tsc builds dist/), and as postpack.
import { cpSync, existsSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const repoDir = join(packageDir, "..");
const COPIED = ["schemas", "fixtures", "CLIENTS.md", "LICENSE"];
// LICENSE may be missing from a checkout that predates it; the others are the package.
const OPTIONAL = new Set(["LICENSE"]);

function clean() {
  for (const name of [...COPIED, "dist"]) rmSync(join(packageDir, name), { recursive: true, force: true });
}

function copy() {
  clean();
  const missing = COPIED.filter((name) => !OPTIONAL.has(name) && !existsSync(join(repoDir, name)));
  if (missing.length > 0) {
    console.error(`bundle: ${missing.join(", ")} not found in ${repoDir}; pack from the package folder of a full checkout.`);
    process.exit(4);
  }
  for (const name of COPIED) {
    const source = join(repoDir, name);
    if (!existsSync(source)) {
      console.error(`bundle: ${name} not found in ${repoDir}; the package is packed without it.`);
      continue;
    }
    cpSync(source, join(packageDir, name), { recursive: true });
  }
}

if (process.argv.includes("--clean")) clean();
else copy();
