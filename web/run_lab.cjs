// Open one lab of the built JupyterLite site in Debian's headless Chromium and run it cell by
// cell, as a student would (exercise cells get the teacher's solution typed in first).
// Prints one JSON line: {cells: [...], requests: [...], failures: [...], console: [...]}.
//
// usage: node run_lab.cjs <site url> <notebook path> <solutions.json> <screenshot.png> <profile dir>
// solutions.json maps an exercise cell's source to the solution source that replaces it.
// Every request is recorded; Chromium is also told that no host but 127.0.0.1 exists
// (--host-resolver-rules), so nothing can leave the machine even if a request is missed.
const fs = require("fs");
const path = require("path");
const { chromium } = require(path.join(process.env.NODE_PATH, "playwright-core"));

const CELL_TIMEOUT_MS = 240000;

async function main() {
  const [siteArg, notebook, solutionsFile, screenshot, profile] = process.argv.slice(2);
  const siteUrl = siteArg.replace(/\/+$/, "");
  const solutions = JSON.parse(fs.readFileSync(solutionsFile, "utf8"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1280, height: 1000 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
  });
  const requests = [], failures = [], consoleLines = [];
  context.on("request", (r) => { requests.push(r.url()); if (process.env.SIMTCP_LAB_VERBOSE) process.stderr.write(`request ${r.url()}\n`); });
  context.on("requestfailed", (r) => failures.push(`${r.url()}: ${r.failure() && r.failure().errorText}`));
  context.on("response", (r) => { if (r.status() >= 400) failures.push(`${r.url()}: HTTP ${r.status()}`); });
  const page = context.pages()[0] || await context.newPage();
  const log = (line) => { consoleLines.push(line); if (process.env.SIMTCP_LAB_VERBOSE) process.stderr.write(line + "\n"); };
  page.on("console", (m) => log(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e}`));
  page.on("crash", () => consoleLines.push("page crashed"));
  page.on("close", () => consoleLines.push("page closed"));
  page.on("worker", (w) => w.on("console", (m) => log(`worker ${m.type()}: ${m.text()}`)));

  const fail = async (err) => {
    await page.screenshot({ path: screenshot }).catch(() => {});
    await context.close().catch(() => {});
    process.stdout.write(JSON.stringify({ error: String(err), requests, failures, console: consoleLines }) + "\n");
    process.exit(2);
  };
  try {
    await run(page, siteUrl, notebook, solutions, screenshot, requests, failures, consoleLines);
  } catch (err) {
    await fail(err);
  }
  await context.close();
}

async function run(page, siteUrl, notebook, solutions, screenshot, requests, failures, consoleLines) {
  await page.goto(`${siteUrl}/notebooks/index.html?path=${encodeURIComponent(notebook)}`);
  await page.waitForFunction(() => {
    const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    return w && w.context && w.context.isReady && w.content && w.content.widgets.length > 0;
  }, null, { timeout: 120000 });
  await page.evaluate(async () => {
    await window.jupyterapp.shell.currentWidget.sessionContext.ready;
  });
  const count = await page.evaluate(() => window.jupyterapp.shell.currentWidget.content.widgets.length);
  const cells = [];
  let plotCell = null;
  for (let i = 0; i < count; i++) {
    const result = await page.evaluate(async ({ i, solutions, timeout }) => {
      const panel = window.jupyterapp.shell.currentWidget;
      const nb = panel.content;
      const cell = nb.widgets[i];
      const model = cell.model;
      if (model.type !== "code") return { index: i, type: model.type };
      const tags = model.getMetadata("tags") || [];
      let source = model.sharedModel.getSource();
      const typed = tags.includes("exercise") && source in solutions;
      if (typed) { model.sharedModel.setSource(solutions[source]); source = solutions[source]; }
      nb.activeCellIndex = i;
      const started = Date.now();
      await window.jupyterapp.commands.execute("notebook:run-cell");
      while ((model.executionCount === null || panel.sessionContext.session.kernel.status !== "idle")
             && Date.now() - started < timeout) {
        await new Promise((r) => setTimeout(r, 200));
      }
      return { index: i, type: "code", tags, typed, source, seconds: (Date.now() - started) / 1000,
               executionCount: model.executionCount, outputs: model.outputs.toJSON() };
    }, { i, solutions, timeout: CELL_TIMEOUT_MS });
    cells.push(result);
    process.stderr.write(`cell ${i}: ${result.type} ${result.seconds || ""}\n`);
    if (plotCell === null && result.outputs && result.outputs.some((o) => o.data && o.data["image/png"])) plotCell = i;
  }
  await page.evaluate(async (i) => {
    const nb = window.jupyterapp.shell.currentWidget.content;
    if (i !== null) { nb.activeCellIndex = i; await nb.scrollToItem(i, "center"); }
  }, plotCell);
  await page.waitForTimeout(1000);
  await page.screenshot({ path: screenshot });
  process.stdout.write(JSON.stringify({ cells, requests, failures, console: consoleLines, plotCell }) + "\n");
}

main().catch((err) => { console.error(err); process.exit(1); });
