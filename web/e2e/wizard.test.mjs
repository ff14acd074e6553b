// The web app in a real browser (Debian's Chromium, driven by
// playwright-core) against the whole local stack (`portage dev`): sign in
// with the dev token, upload an Outlook-style CSV with a bad row and an
// in-file duplicate, change one mapping in review, import, hold the page's
// counters and error table to the database, download the error report,
// export csv and open it, undo the import, see it in the history.
// Screenshots of each step go to .build/web-screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import pg from "pg";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const shots = path.join(root, ".build", "web-screenshots");
const portage = process.env.PORTAGE_BIN || path.join(root, ".build", "portage");
const localTenant = "00000000-0000-4000-8000-000000000001";

// Outlook's export names its columns this way. Row 3 has a bad email; row 5
// repeats row 1's email in another case (an in-file duplicate).
const outlookCSV = [
  "First Name,Last Name,E-mail Address,Company,Notes",
  "Ada,Lovelace,ada@example.com,Analytical Engines,first programmer",
  "Alan,Turing,alan@example.com,Bletchley Park,",
  "Bad,Row,not-an-email,,",
  "Grace,Hopper,grace@example.com,US Navy,compilers",
  "Ada,Again,ADA@example.com,,duplicate",
  "Linus,,linus@example.com,,",
].join("\r\n") + "\r\n";

let stack, stackExit, baseURL, adminURL, browser, db;

// startStack runs `portage dev` and reads the page and database addresses
// it prints.
function startStack() {
  return new Promise((resolve, reject) => {
    stack = spawn(portage, ["dev", "--fresh", "--addr", "127.0.0.1:0", "--root", root], { cwd: root, env: process.env, stdio: ["ignore", "pipe", "pipe"] });
    stackExit = new Promise((r) => stack.on("exit", (code, signal) => r({ code, signal })));
    let out = "";
    const timer = setTimeout(() => reject(new Error("portage dev did not start in 120 s:\n" + out)), 120_000);
    stack.stdout.on("data", (b) => {
      out += b;
      const open = out.match(/Open\s+(http:\/\/\S+?)\/ /);
      const pgURL = out.match(/PostgreSQL\s+(postgres\S+)/);
      if (open && pgURL && out.includes("Dev token")) {
        clearTimeout(timer);
        resolve({ base: open[1], pg: pgURL[1] });
      }
    });
    stack.stderr.on("data", (b) => { if (process.env.VERBOSE) process.stderr.write(b); });
    stack.on("error", (e) => { clearTimeout(timer); reject(e); });
    stack.on("exit", (code) => { clearTimeout(timer); reject(new Error(`portage dev exited (${code}) before it was ready:\n${out}`)); });
  });
}

before(async () => {
  fs.mkdirSync(shots, { recursive: true });
  const s = await startStack();
  baseURL = s.base;
  adminURL = s.pg;
  // Fails (never skips) when the browser cannot start.
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  db = new pg.Client({ connectionString: adminURL });
  await db.connect();
});

after(async () => {
  await db?.end();
  await browser?.close();
  if (stack && stack.exitCode === null) {
    stack.kill("SIGINT");
    const { code } = await stackExit;
    assert.equal(code, 0, "portage dev stops cleanly on Ctrl-C (SIGINT) with exit 0");
  }
});

async function one(sql, ...args) {
  const r = await db.query(sql, args);
  return r.rows[0];
}

async function counters(page, box) {
  const out = {};
  for (const item of await page.locator(`${box} div`).all()) {
    out[await item.locator("dt").innerText()] = Number((await item.locator("dd").innerText()).replace(/[^0-9]/g, ""));
  }
  return out;
}

test("import with review, check, export, undo", { timeout: 180_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("pageerror", (e) => consoleErrors.push(e.message));
  await page.goto(baseURL + "/");

  // Sign in with the dev token the local stack offers.
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await page.getByRole("button", { name: "Use the local stack's dev token" }).click();
  await page.getByRole("heading", { name: "Import contacts" }).waitFor();
  await page.screenshot({ path: path.join(shots, "01-pick.png") });

  // Upload: straight to S3 from the browser.
  const file = path.join(fs.mkdtempSync(path.join(root, ".build", "e2e-")), "outlook-contacts.csv");
  fs.writeFileSync(file, outlookCSV);
  await page.locator("#file").setInputFiles(file);

  // Review: one line per column, the suggestion, a select for each.
  await page.getByRole("heading", { name: "Check how your columns are read" }).waitFor({ timeout: 60_000 });
  const email = page.getByLabel("Import column “E-mail Address” as");
  assert.equal(await email.inputValue(), "email", "the email column is suggested as email");
  assert.equal(await page.getByLabel("Import column “First Name” as").inputValue(), "first_name");
  assert.match(await page.locator("#columns tbody tr").first().innerText(), /Ada · Alan · Bad/, "three sample values per column");
  assert.equal(await page.locator("#columns select:not([aria-label])").count(), 0, "every select has an accessible name");

  // A problem is shown before anything is sent, with the control that fixes it.
  await email.selectOption("");
  await page.locator("#problems").waitFor();
  assert.match(await page.locator("#problems").innerText(), /column that holds the email address/);
  assert.equal(await page.getByRole("button", { name: "Start the import" }).isDisabled(), true);
  await page.locator("#problem-list a").first().click();
  await email.selectOption("email");
  assert.equal(await page.locator("#problems").isHidden(), true);

  // The columns left out are counted, as the selects say.
  const leftOut = await page.locator("#columns select").evaluateAll((ss) => ss.filter((s) => !s.value).length);
  assert.match(await page.locator("#left-out").innerText(), leftOut ? new RegExp(`^${leftOut} columns? will not be imported`) : /Every column will be imported/);

  // Change one mapping: the notes become a custom field.
  await page.getByLabel("Import column “Notes” as").selectOption("custom.notes");
  await page.getByLabel("Tags to add to every imported contact").fill("outlook, 2026");
  await page.screenshot({ path: path.join(shots, "02-review.png"), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: path.join(shots, "03-review-phone.png"), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });

  await page.getByRole("button", { name: "Start the import" }).click();
  await page.getByRole("heading", { name: "Import finished" }).waitFor({ timeout: 60_000 });
  await page.screenshot({ path: path.join(shots, "04-result.png"), fullPage: true });

  // The page's counters are the database's, and they add up.
  const job = await one(`SELECT id, status, total_rows, created_count, updated_count, skipped_count, error_count, errors
    FROM import_jobs WHERE tenant_id = $1 ORDER BY created_at DESC LIMIT 1`, localTenant);
  const shown = await counters(page, "#result-counts");
  assert.deepEqual(shown, { "Rows in the file": job.total_rows, Created: job.created_count, Updated: job.updated_count,
    Skipped: job.skipped_count, "Not imported (errors)": job.error_count });
  assert.deepEqual([job.total_rows, job.created_count, job.skipped_count, job.error_count], [6, 4, 1, 1]);
  const live = await one(`SELECT count(*)::int AS n, count(*) FILTER (WHERE custom_fields->>'notes' = 'first programmer')::int AS notes,
    count(*) FILTER (WHERE tags @> ARRAY['outlook', '2026'])::int AS tagged
    FROM contacts WHERE tenant_id = $1 AND deleted_at IS NULL`, localTenant);
  assert.deepEqual(live, { n: 4, notes: 1, tagged: 4 }, "the reviewed mapping and tags were used");

  // The error table is the job's errors: row, column, value, message.
  const rows = await page.locator("#errors tbody tr").all();
  const dbErrors = job.errors.filter((e) => e.row > 0);
  assert.equal(rows.length, dbErrors.length);
  const cells = await rows[0].locator("td").allInnerTexts();
  assert.equal(Number(cells[0]), dbErrors[0].row);
  assert.equal(cells[0], "4", "the bad row is row 4 of the file (after the header)");
  assert.equal(cells[2], "not-an-email");
  assert.equal(cells[3], dbErrors[0].message);
  assert.equal(await page.locator("#problem-summary").innerText(), "1 × " + dbErrors[0].message, "the problems, counted by kind");
  assert.equal(await page.locator("#result-skipped").innerText(), "1 row was skipped: 1 repeated an email seen earlier in the file.");
  assert.deepEqual(await page.locator("#dups-table tbody tr").first().locator("td").allInnerTexts(), ["6", "2"],
    "the repeat (row 6) is listed with the row it repeats");

  // The full error report downloads as CSV.
  const [report] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download the error report" }).click()]);
  const reportText = fs.readFileSync(await report.path(), "utf8");
  assert.match(reportText, /not-an-email/);
  assert.match(reportText.split(/\r?\n/)[0], /^row,result,errors/);

  // Export csv, then open the file.
  await page.getByRole("navigation").getByRole("button", { name: "Export" }).click();
  await page.getByRole("heading", { name: "Export contacts" }).waitFor();
  // The tenant's custom fields come from the API, offered unticked.
  const notes = page.getByLabel("Custom field “notes”");
  assert.equal(await notes.isChecked(), false, "a custom field is offered, not ticked");
  await notes.check();
  await page.locator("#export-form").getByRole("button", { name: "Export" }).click();
  const download = page.locator("#export-list").getByRole("button", { name: "Download" }).first();
  await download.waitFor({ timeout: 60_000 });
  await page.screenshot({ path: path.join(shots, "05-export.png"), fullPage: true });
  const [exported] = await Promise.all([page.waitForEvent("download"), download.click()]);
  const csv = fs.readFileSync(await exported.path(), "utf8").trim().split(/\r?\n/);
  assert.match(csv[0], /^email,first_name,last_name/);
  assert.equal(csv.length - 1, 4, "the export holds the 4 imported contacts");
  assert.ok(csv.some((l) => l.startsWith("ada@example.com,Ada,Lovelace")));
  assert.match(csv[0], /,custom\.notes$/, "the custom field chosen is exported");
  assert.ok(csv.some((l) => l.startsWith("ada@example.com,") && l.endsWith(",first programmer")));

  // Undo the import from its page in the history.
  await page.getByRole("navigation").getByRole("button", { name: "History" }).click();
  await page.getByRole("link", { name: "outlook-contacts.csv" }).first().click();
  await page.getByRole("heading", { name: "Import finished" }).waitFor();
  await page.getByRole("button", { name: "Undo this import" }).click();
  assert.equal(await page.evaluate(() => document.activeElement.id), "undo-yes", "the confirmation has the focus");
  await page.getByRole("button", { name: "Yes, undo it" }).click();
  await page.getByRole("heading", { name: "Import undone" }).waitFor({ timeout: 60_000 });
  await page.locator("#undo-result", { hasText: "Undone" }).waitFor({ timeout: 30_000 });
  await page.screenshot({ path: path.join(shots, "06-undone.png"), fullPage: true });
  const after = await one(`SELECT count(*)::int AS n FROM contacts WHERE tenant_id = $1 AND deleted_at IS NULL`, localTenant);
  assert.equal(after.n, 0, "undo removed every contact the import created");

  await page.getByRole("navigation").getByRole("button", { name: "History" }).click();
  await page.locator("#imports tbody tr", { hasText: "Undone" }).waitFor();
  await page.screenshot({ path: path.join(shots, "07-history.png"), fullPage: true });
  assert.deepEqual(consoleErrors, [], "no script errors on the page");
  await context.close();
});

test("a file Portage cannot read is refused with the control that fixes it", { timeout: 60_000 }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(baseURL + "/");
  await page.evaluate(async () => {
    const { token } = await (await fetch("/dev/token")).json();
    localStorage.setItem("portage-token", token);
  });
  await page.goto(baseURL + "/");
  await page.getByRole("heading", { name: "Import contacts" }).waitFor();
  const file = path.join(fs.mkdtempSync(path.join(root, ".build", "e2e-")), "contacts.pdf");
  fs.writeFileSync(file, "%PDF-1.4");
  await page.locator("#file").setInputFiles(file);
  const alert = page.getByRole("alert");
  await alert.waitFor();
  const text = await alert.innerText();
  assert.match(text, /reads \.csv, \.xlsx, \.json and \.vcf files/);
  assert.doesNotMatch(text, /file_type|field_mapping/, "no API field names in what a person reads");
  assert.equal(await page.evaluate(() => document.activeElement.id), "file", "the file picker has the focus");
  await page.screenshot({ path: path.join(shots, "08-wrong-type.png") });
  await context.close();
});

// What the page says is true: the menu is hidden while signed out, a dry
// run says what would happen and that nothing was saved, a file that cannot
// be read is refused on the pick step with its reason, and a sign-in that
// stopped working leads to the sign-in page with a plain sentence.
test("the page says only what is true", { timeout: 120_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("pageerror", (e) => consoleErrors.push(e.message));
  await page.goto(baseURL + "/");
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  assert.equal(await page.locator("#nav").isVisible(), false, "the menu is not shown to someone signed out");
  await page.getByRole("button", { name: "Use the local stack's dev token" }).click();
  await page.getByRole("heading", { name: "Import contacts" }).waitFor();
  assert.equal(await page.locator("#nav").isVisible(), true, "the menu is shown once signed in");

  // A dry run: "would be created", nothing saved.
  const dir = fs.mkdtempSync(path.join(root, ".build", "e2e-"));
  const dry = path.join(dir, "dry-run.csv");
  fs.writeFileSync(dry, "email,first_name\ndry1@example.com,Dee\ndry2@example.com,Ray\n");
  const before = await one(`SELECT count(*)::int AS n FROM contacts WHERE tenant_id = $1`, localTenant);
  await page.locator("#file").setInputFiles(dry);
  await page.getByRole("heading", { name: "Check how your columns are read" }).waitFor({ timeout: 60_000 });
  await page.locator("#dry").check();
  await page.getByRole("button", { name: "Start the import" }).click();
  await page.getByRole("heading", { name: "Dry run: checked, nothing was saved" }).waitFor({ timeout: 60_000 });
  assert.match(await page.locator("#result-text").innerText(), /2 contacts would be created/);
  assert.deepEqual(Object.keys(await counters(page, "#result-counts")).slice(1, 3), ["Would be created", "Would be updated"]);
  assert.equal(await page.getByRole("button", { name: "Undo this import" }).isVisible(), false, "nothing to undo after a dry run");
  const after = await one(`SELECT count(*)::int AS n FROM contacts WHERE tenant_id = $1`, localTenant);
  assert.equal(after.n, before.n, "a dry run saves nothing");
  await page.screenshot({ path: path.join(shots, "09-dry-run.png"), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: path.join(shots, "10-dry-run-phone.png"), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });

  // Every step has an address: a reload and Back land on the same step.
  const address = page.url();
  assert.match(address, /#\/imports\/[0-9a-f-]{36}$/, "the result has its own address");
  await page.reload();
  await page.getByRole("heading", { name: "Dry run: checked, nothing was saved" }).waitFor({ timeout: 30_000 });
  await page.getByRole("navigation").getByRole("button", { name: "History" }).click();
  await page.getByRole("heading", { name: "Past imports" }).waitFor();
  assert.match(page.url(), /#\/history$/);
  await page.goBack();
  await page.getByRole("heading", { name: "Dry run: checked, nothing was saved" }).waitFor({ timeout: 30_000 });
  assert.equal(page.url(), address, "Back returns to the import");

  // The dry run is imported for real, with no new upload.
  await page.getByRole("button", { name: "Import it for real" }).click();
  await page.getByRole("heading", { name: "Import finished" }).waitFor({ timeout: 60_000 });
  assert.match(await page.locator("#result-text").innerText(), /2 contacts created/);
  const saved = await one(`SELECT count(*)::int AS n FROM contacts WHERE tenant_id = $1 AND email LIKE 'dry_@example.com'`, localTenant);
  assert.equal(saved.n, 2, "the real import saved the dry run's rows");
  assert.notEqual(page.url(), address, "the real import has its own address");

  // A picture renamed .csv: refused on the pick step, with why.
  await page.getByRole("button", { name: "Import another file" }).click();
  const png = path.join(dir, "photo.csv");
  fs.writeFileSync(png, Buffer.from("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082", "hex"));
  await page.locator("#file").setInputFiles(png);
  const alert = page.getByRole("alert");
  await alert.filter({ hasText: "cannot be read" }).waitFor({ timeout: 60_000 });
  assert.match(await alert.innerText(), /“photo\.csv” cannot be read: .+\. Choose another file\./);
  assert.equal(await page.locator("#step-pick").isVisible(), true, "the person is back where a file is chosen");
  assert.equal(await page.locator("#step-result").isVisible(), false, "no result page with empty counters");
  await page.screenshot({ path: path.join(shots, "11-unreadable.png") });

  // A token that stopped working: the sign-in page, in plain words.
  await page.evaluate(() => localStorage.setItem("portage-token", "not-a-token"));
  await page.getByRole("navigation").getByRole("button", { name: "History" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  const said = await page.getByRole("alert").innerText();
  assert.match(said, /Sign in again/);
  assert.doesNotMatch(said, /^Unauthorized$/);
  assert.equal(await page.locator("#nav").isVisible(), false);
  assert.deepEqual(consoleErrors, [], "no script errors on the page");
  await context.close();
});
