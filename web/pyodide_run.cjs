// Run a Python file under Pyodide in node, offline: install local wheels, run the file, and
// print one JSON line {ok, stdout, stderr, files: {name: base64}} for the caller to compare.
//
// usage: node pyodide_run.cjs <pyodide package dir> <script.py> <wheel>... [--read <file>]...
// Wheels are unpacked with pyodide.unpackArchive (no micropip, no loadPackage, no network).
const fs = require("fs");
const path = require("path");

async function main() {
  const argv = process.argv.slice(2);
  const pyodideDir = argv.shift();
  const script = argv.shift();
  const wheels = [], reads = [];
  while (argv.length) {
    const a = argv.shift();
    if (a === "--read") reads.push(argv.shift()); else wheels.push(a);
  }
  const { loadPyodide } = require(path.resolve(pyodideDir));
  let stdout = "", stderr = "";
  const pyodide = await loadPyodide({
    indexURL: path.resolve(pyodideDir) + path.sep,
    stdout: (s) => { stdout += s + "\n"; },
    stderr: (s) => { stderr += s + "\n"; },
  });
  for (const wheel of wheels) {
    pyodide.unpackArchive(new Uint8Array(fs.readFileSync(wheel)), "wheel");
  }
  const result = { ok: true, version: pyodide.version, stdout: "", stderr: "", files: {} };
  try {
    await pyodide.runPythonAsync(fs.readFileSync(script, "utf8"), { filename: path.basename(script) });
  } catch (err) {
    result.ok = false;
    result.error = String(err);
  }
  for (const name of reads) {
    if (pyodide.FS.analyzePath(name).exists) {
      result.files[name] = Buffer.from(pyodide.FS.readFile(name)).toString("base64");
    }
  }
  result.stdout = stdout;
  result.stderr = stderr;
  process.stdout.write(JSON.stringify(result) + "\n");
}

main().catch((err) => { console.error(err); process.exit(1); });
