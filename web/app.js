// Portage's web app: sign in, import with a review of the mapping, follow
// the import live, see and undo the result, browse past imports, export.
// Plain JavaScript against the HTTP API (docs/design.md §9); no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "portage-token";
const STATUS_WORDS = {
  pending: "Waiting for the file", awaiting_review: "Waiting for your review", processing: "Importing",
  completed: "Done", failed: "Failed", cancelled: "Cancelled", rolling_back: "Undoing", rolled_back: "Undone",
};
const POLL_MS = 400;

// fields: what a person may import into or export, with labels, from
// GET /v1/fields (the page keeps no list of its own).
const state = { job: null, inspection: null, polling: 0, fields: [] };

// ---- API ------------------------------------------------------------------

class APIError extends Error {
  constructor(status, code, message, details) { super(message); this.status = status; this.code = code; this.details = details; }
}

function authHeader() { return { "Authorization": "Bearer " + (localStorage.getItem(TOKEN_KEY) || "") }; }

// BUSY_RETRIES: a read the API answers 503 (the database busy or failing
// over) is asked again after the Retry-After it gave, this many times, while
// the import or export goes on.
const BUSY_RETRIES = 8;

async function api(path, { method = "GET", body } = {}) {
  let res;
  for (let attempt = 0; ; attempt++) {
    try {
      res = await fetch(path, {
        method, body: body === undefined ? undefined : JSON.stringify(body),
        headers: { ...authHeader(), "Content-Type": "application/json" },
      });
    } catch (e) {
      throw new APIError(0, "network", "Portage cannot be reached. Check your connection and try again.");
    }
    if (res.status !== 503 || method !== "GET" || attempt >= BUSY_RETRIES) break;
    const wait = Math.min(30, Math.max(1, parseInt(res.headers.get("Retry-After"), 10) || 1));
    await new Promise((resolve) => setTimeout(resolve, wait * 1000));
  }
  const text = await res.text();
  let data = {};
  try { data = text ? JSON.parse(text) : {}; } catch (e) { data = {}; }
  if (!res.ok) {
    const err = data.error || {};
    if (res.status === 401) {
      signOut("Your sign-in has expired or the token is not valid. Sign in again.");
    }
    throw new APIError(res.status, err.code || "", err.message || data.message || res.statusText, err.details);
  }
  return data;
}

// ---- Page plumbing ----------------------------------------------------------

function announce(text) { $("live").textContent = text; }

function showAlert(text) {
  const a = $("alert");
  a.textContent = text;
  a.hidden = !text;
}

// report shows what went wrong with a request, unless it was a 401: api()
// has already taken the person to the sign-in page and said why there.
function report(e) {
  if (e.status !== 401) showAlert(e.message);
}

function show(view) {
  for (const id of ["signin", "import", "history", "exports"]) $(id).hidden = id !== view;
  for (const b of document.querySelectorAll("nav button[data-view]")) {
    if (b.dataset.view === view) b.setAttribute("aria-current", "page"); else b.removeAttribute("aria-current");
  }
  $("nav").hidden = view === "signin";
}

function step(name) {
  for (const s of ["pick", "upload", "review", "progress", "result"]) $("step-" + s).hidden = s !== name;
  const heading = { upload: "upload-h", review: "review-h", progress: "progress-h", result: "result-h" }[name];
  if (heading) $(heading).focus();
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") e.textContent = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function cell(label, content) {
  const td = el("td", { "data-label": label });
  if (content instanceof Node) td.append(content); else td.textContent = content == null ? "" : String(content);
  return td;
}

function fieldLabel(f) {
  if (!f) return "Don't import";
  const known = state.fields.find((x) => x.name === f);
  if (f.startsWith("custom.")) return "Custom field “" + (known ? known.label : f.slice(7)) + "”";
  return known ? known.label : f;
}

// loadFields reads the fields each time a review or the export form opens:
// the standard ones and the tenant's custom fields, which grow as imports
// add them.
async function loadFields() {
  try {
    state.fields = (await api("/v1/fields")).fields || [];
  } catch (e) { /* labels fall back to the field names */ }
}

function plural(n, one, many) { return n.toLocaleString() + " " + (n === 1 ? one : many); }

function duration(seconds) {
  if (seconds == null) return "";
  if (seconds < 60) return Math.max(1, Math.round(seconds)) + " s";
  const m = Math.floor(seconds / 60), s = Math.round(seconds % 60);
  return m + " min " + (s ? s + " s" : "");
}

function stopPolling() { state.polling++; }

async function poll(read, done, every = POLL_MS) {
  const ticket = ++state.polling;
  for (;;) {
    const v = await read();
    if (ticket !== state.polling) return null;
    if (done(v)) return v;
    await new Promise((r) => setTimeout(r, every));
    if (ticket !== state.polling) return null;
  }
}

// ---- Sign in ------------------------------------------------------------------

function signOut(message) {
  localStorage.removeItem(TOKEN_KEY);
  stopPolling();
  show("signin");
  showAlert(message || "");
  $("signin-h").focus();
}

async function offerDevToken() {
  try {
    const res = await fetch("/dev/token");
    if (!res.ok) return;
    const { token } = await res.json();
    $("devtoken").hidden = false;
    $("devtoken").onclick = () => { $("token").value = token; signIn(token); };
  } catch (e) { /* not the local stack */ }
}

async function signIn(token) {
  localStorage.setItem(TOKEN_KEY, token.trim());
  showAlert("");
  try {
    await api("/v1/imports?limit=1");
  } catch (e) {
    report(e);
    return;
  }
  route();
}

// ---- Import: pick and upload ---------------------------------------------

function openImport() {
  stopPolling();
  show("import");
  showAlert("");
  state.job = null;
  state.inspection = null;
  $("file").value = "";
  step("pick");
  $("import-h").focus();
}

function friendlyCreateError(e, file) {
  if (e.status === 413) return `“${file.name}” is too large: ${e.message.replace(/^the file is/, "it is")}. Split it into smaller files.`;
  if (/cannot tell the type|file_type/.test(e.message)) return `Portage reads .csv, .xlsx, .json and .vcf files; “${file.name}” is not one of them. Choose another file.`;
  if (/file_size/.test(e.message)) return `“${file.name}” is empty. Choose a file with contacts in it.`;
  return e.message;
}

function putFile(upload, file, onProgress) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open(upload.method, upload.url);
    for (const [k, v] of Object.entries(upload.headers || {})) {
      if (!/^(content-length|host)$/i.test(k)) x.setRequestHeader(k, v);
    }
    x.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    x.onload = () => (x.status < 300 ? resolve() : reject(new Error(`The storage refused the upload (HTTP ${x.status}). Try again.`)));
    x.onerror = () => reject(new Error("The upload failed: the storage could not be reached. Try again."));
    x.send(file);
  });
}

async function startUpload(file) {
  showAlert("");
  let job;
  try {
    job = await api("/v1/imports", { method: "POST", body: { file_name: file.name, file_size: file.size, review: true } });
  } catch (e) {
    showAlert(friendlyCreateError(e, file));
    $("file").focus();
    return;
  }
  state.job = job;
  at("#/imports/" + job.id);
  $("upload-name").textContent = file.name;
  step("upload");
  const mb = (n) => (n / 1048576).toFixed(n < 10485760 ? 2 : 1) + " MB";
  try {
    await putFile(job.upload, file, (done, total) => {
      $("upload-bar").value = total ? (100 * done) / total : 0;
      $("upload-text").textContent = `${mb(done)} of ${mb(total)} sent`;
    });
  } catch (e) {
    report(e);
    step("pick");
    return;
  }
  $("upload-text").textContent = "Uploaded. Reading the file…";
  announce("Uploaded. Reading the file.");
  await followJob(job.id);
}

// followJob shows whatever step a job is at, and follows it from there.
async function followJob(id) {
  let job;
  try {
    job = await poll(() => api("/v1/imports/" + id), (j) => j.status !== "pending");
  } catch (e) {
    report(e);
    return;
  }
  if (!job) return;
  state.job = job;
  if (job.status === "failed" && job.total_rows == null) {
    // The file could not be read: nothing was imported, so there is no
    // result to show, only a file to choose again.
    step("pick");
    showAlert(`“${job.file_name}” cannot be read: ${job.failure_reason || "the file is damaged"}. Choose another file.`);
    $("file").focus();
    return;
  }
  if (job.status === "awaiting_review") return openReview(job);
  if (job.status === "processing" || job.status === "rolling_back") return followProgress(job);
  return showResult(job);
}

// ---- Review -----------------------------------------------------------------

function confidenceWords(c) {
  if (c >= 0.9) return ["sure", "conf-high"];
  if (c >= 0.6) return ["likely", "conf-mid"];
  return ["a guess", "conf-low"];
}

function customSlug(header) {
  const s = header.toLowerCase().normalize("NFKD").replace(/[^a-z0-9_ -]+/g, " ").trim().replace(/\s+/g, "_").slice(0, 64);
  return s || "field";
}

async function openReview(job) {
  let inspection;
  try {
    inspection = await api(`/v1/imports/${job.id}/preview`);
  } catch (e) {
    report(e);
    return;
  }
  state.inspection = inspection;
  await loadFields();
  step("review");
  const rows = inspection.estimated_rows;
  const parts = [`${inspection.file_name}: ${inspection.rows_counted ? plural(rows, "row", "rows") : "about " + plural(rows, "row", "rows")}`,
    `${inspection.header.length} columns`];
  const seps = { ",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars" };
  if (inspection.file_type === "csv") parts.push(`values separated by ${seps[inspection.delimiter] || "“" + inspection.delimiter + "”"}, ${inspection.encoding.toUpperCase()}`);
  if (inspection.sheet) parts.push(`sheet “${inspection.sheet}”`);
  if (inspection.header_row > 1) parts.push(`column names on row ${inspection.header_row} (the rows above are skipped)`);
  $("review-summary").textContent = parts.join(" · ");
  $("review-memory").hidden = inspection.mapping_source !== "from your last import";

  const body = $("columns").tBodies[0];
  body.replaceChildren();
  inspection.header.forEach((col, i) => {
    const samples = [];
    for (const r of inspection.rows) {
      const v = (r[i] || "").trim();
      if (v && !samples.includes(v)) samples.push(v);
      if (samples.length === 3) break;
    }
    const sug = inspection.suggestions[col] || { field: "", confidence: 0 };
    const chosen = inspection.suggested_mapping[col] || "";
    const select = el("select", { id: "map-" + i, "data-column": col, "aria-label": `Import column “${col}” as` });
    select.append(el("option", { value: "", text: "Don't import" }));
    for (const f of inspection.fields) select.append(el("option", { value: f, text: fieldLabel(f) }));
    const custom = chosen.startsWith("custom.") ? chosen : "custom." + customSlug(col);
    select.append(el("option", { value: custom, text: fieldLabel(custom) }));
    select.value = chosen;
    select.addEventListener("change", checkMapping);
    let suggested = "—";
    if (!sug.field && sug.reason === "from your last import") {
      suggested = el("span", {}, "Don't import ", el("span", { class: "conf-high", text: "(from your last import)" }));
    } else if (sug.field) {
      const [words, cls] = confidenceWords(sug.confidence);
      suggested = el("span", {}, fieldLabel(sug.field) + " ", el("span", { class: cls, text: `(${sug.reason === "from your last import" ? "from your last import" : words})` }));
    }
    body.append(el("tr", {}, cell("Column", el("strong", { text: col || `(column ${i + 1}, no name)` })),
      cell("Sample values", el("span", { class: "samples", text: samples.join(" · ") || "(empty)" })),
      cell("Suggested", suggested), cell("Import as", select)));
  });
  $("dups").value = (job.import_options && job.import_options.duplicate_strategy) || "skip";
  $("tags").value = ((job.import_options && job.import_options.tags) || []).join(", ");
  $("dry").checked = !!(job.import_options && job.import_options.dry_run);
  checkMapping();
  announce("The file is read. Check how its columns are imported, then choose Start the import.");
}

function currentMapping() {
  const m = {};
  for (const s of $("columns").querySelectorAll("select")) m[s.dataset.column] = s.value;
  return m;
}

// checkMapping lists, before anything is sent, what would stop the import.
function checkMapping() {
  const m = currentMapping();
  const problems = [];
  const byField = {};
  for (const [col, f] of Object.entries(m)) if (f) (byField[f] = byField[f] || []).push(col);
  const ins = state.inspection;
  if (ins && ins.rows_counted && ins.estimated_rows === 0) {
    problems.push({ text: "The file has column names but no contacts under them. Choose another file.", focus: $("review-cancel") });
  }
  if (!byField.email) problems.push({ text: "Choose the column that holds the email address: every contact needs one.", focus: firstSelect() });
  for (const [f, cols] of Object.entries(byField)) {
    if (cols.length > 1) problems.push({ text: `${cols.map((c) => "“" + c + "”").join(" and ")} are both imported as ${fieldLabel(f)}. Choose one.`, focus: selectFor(cols[1]) });
  }
  const left = Object.values(m).filter((f) => !f).length;
  $("left-out").textContent = left ? `${plural(left, "column", "columns")} will not be imported.` : "Every column will be imported.";
  const list = $("problem-list");
  list.replaceChildren(...problems.map((p) => el("li", {}, el("a", { href: "#", text: p.text, onclick: (e) => { e.preventDefault(); p.focus && p.focus.focus(); } }))));
  $("problems").hidden = problems.length === 0;
  $("start").disabled = problems.length > 0;
  return problems.length === 0;
}

function firstSelect() { return $("columns").querySelector("select"); }
function selectFor(col) { return [...$("columns").querySelectorAll("select")].find((s) => s.dataset.column === col); }

async function startImport() {
  if (!checkMapping()) return;
  showAlert("");
  const tags = $("tags").value.split(",").map((t) => t.trim()).filter(Boolean);
  const opts = { duplicate_strategy: $("dups").value, tags, dry_run: $("dry").checked };
  $("start").disabled = true;
  try {
    const job = await api(`/v1/imports/${state.job.id}/start`, { method: "POST", body: { field_mapping: currentMapping(), import_options: opts } });
    state.job = job;
  } catch (e) {
    $("start").disabled = false;
    report(e);
    return;
  }
  await followProgress(state.job);
}

async function cancelImport() {
  const buttons = [$("progress-cancel"), $("review-cancel")];
  if (buttons.some((b) => b.disabled)) return;
  for (const b of buttons) b.disabled = true;
  try {
    const job = await api(`/v1/imports/${state.job.id}/cancel`, { method: "POST" });
    state.job = job;
    stopPolling();
    showResult(job);
  } catch (e) {
    report(e);
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}

// ---- Progress and result ------------------------------------------------------

function countsList(target, job) {
  const total = job.total_rows == null ? null : job.total_rows;
  // What a dry run counts would happen; what an undone import did is gone.
  const [created, updated] = job.dry_run ? ["Would be created", "Would be updated"]
    : job.status === "rolled_back" ? ["Created, then removed", "Updated, then restored"] : ["Created", "Updated"];
  const items = [["Rows in the file", total], [created, job.created_count], [updated, job.updated_count],
    ["Skipped", job.skipped_count], ["Not imported (errors)", job.error_count]];
  target.replaceChildren(...items.map(([k, v]) => el("div", {}, el("dt", { text: k }), el("dd", { text: v == null ? "…" : v.toLocaleString() }))));
}

async function followProgress(job) {
  step("progress");
  $("progress-name").textContent = job.file_name;
  $("progress-dry").hidden = !job.dry_run;
  const done = await poll(() => api("/v1/imports/" + job.id), (j) => {
    state.job = j;
    $("progress-bar").value = j.percent || 0;
    const parts = [];
    if (j.total_rows != null) parts.push(`${j.processed_rows.toLocaleString()} of ${j.total_rows.toLocaleString()} rows (${j.percent}%)`);
    else parts.push("Reading the file…");
    if (j.rows_per_second) parts.push(`${j.rows_per_second.toLocaleString()} rows/s`);
    if (j.time_left_seconds != null) parts.push(`about ${duration(j.time_left_seconds)} left`);
    $("progress-text").textContent = parts.join(" · ");
    countsList($("progress-counts"), j);
    announce(parts[0]);
    return !["pending", "processing"].includes(j.status);
  });
  if (done) showResult(done);
}

function skippedWords(job) {
  if (!job.skipped_count) return "";
  const by = job.skipped_by || {};
  const parts = [];
  if (by.in_file_duplicates) parts.push(`${by.in_file_duplicates.toLocaleString()} repeated an email seen earlier in the file`);
  if (by.kept_by_strategy) parts.push(`${by.kept_by_strategy.toLocaleString()} matched a contact you have, left as it was (your duplicate setting)`);
  if (by.unchanged) parts.push(`${by.unchanged.toLocaleString()} matched a contact and would change nothing`);
  if (by.no_match) parts.push(`${by.no_match.toLocaleString()} had no contact to update`);
  return `${plural(job.skipped_count, "row was", "rows were")} skipped` + (parts.length ? ": " + parts.join("; ") + "." : ".");
}

// cancelledWords says what a cancelled import had saved: nothing is saved
// after a cancel, so these counters are final.
function cancelledWords(job) {
  if (!job.processed_rows) return "It stopped before any row was saved: nothing to undo.";
  const chunks = `${job.chunks_applied.toLocaleString()} of ${job.chunk_count.toLocaleString()} parts`;
  if (job.dry_run) return `It stopped after ${chunks} of the file had been checked; nothing was saved.`;
  return `${chunks} of the file had been saved (${plural(job.processed_rows, "row", "rows")}) before it stopped; you can undo them.`;
}

async function showResult(job) {
  state.job = job;
  step("result");
  const reason = job.failure_reason || "";
  let head, text = "";
  if (job.status === "completed" && job.dry_run) {
    head = "Dry run: checked, nothing was saved";
    text = `${job.file_name}: ${plural(job.created_count, "contact", "contacts")} would be created, ${job.updated_count.toLocaleString()} would be updated.`;
  } else if (job.status === "completed") {
    head = "Import finished";
    text = `${job.file_name}: ${plural(job.created_count, "contact", "contacts")} created, ${job.updated_count.toLocaleString()} updated.`;
  } else if (job.status === "cancelled") {
    head = "Import cancelled";
    text = cancelledWords(job);
  } else if (job.status === "failed") {
    head = "Import failed";
    text = reason;
  } else if (job.status === "rolled_back") {
    head = "Import undone";
    text = `${job.file_name}: the ${plural(job.created_count, "contact", "contacts")} it created were removed and the ${job.updated_count.toLocaleString()} it updated got their earlier values back, except any listed below.`;
  } else {
    head = STATUS_WORDS[job.status] || job.status;
  }
  $("result-h").textContent = head;
  $("result-text").textContent = text;
  countsList($("result-counts"), job);
  $("result-skipped").textContent = skippedWords(job);
  const errors = (job.errors || []).filter((e) => e.row > 0);
  $("result-errors").hidden = errors.length === 0;
  // The problems by kind, over every row: "1,950 × the domain has no dot".
  $("problem-summary").replaceChildren(...(job.problems || []).map((p) =>
    el("li", { text: `${p.rows.toLocaleString()} × ${p.message}` })));
  $("errors-shown").textContent = errors.length < job.error_count
    ? `Showing the first ${errors.length.toLocaleString()} of ${plural(job.error_count, "row", "rows")} with problems: the error report has them all.` : "";
  $("errors").tBodies[0].replaceChildren(...errors.map((e) =>
    el("tr", {}, cell("Row", e.row), cell("Column", e.column || ""), cell("Value", e.value || ""), cell("Problem", e.message))));
  const dups = job.duplicates || [];
  $("result-dups").hidden = dups.length === 0;
  $("dups-table").tBodies[0].replaceChildren(...dups.map((d) => el("tr", {}, cell("Row", d.row), cell("Repeats row", d.duplicate_of))));
  $("download-errors").hidden = !job.error_report;
  $("undo").hidden = !job.undoable;
  $("for-real").hidden = !(job.dry_run && job.status === "completed");
  $("undo-confirm").hidden = true;
  $("undo-result").hidden = true;
  if (job.status === "rolled_back" || job.status === "rolling_back") showUndo(job);
  announce(head + ". " + text);
}

async function downloadErrors() {
  try {
    const res = await fetch(`/v1/imports/${state.job.id}/errors`, { headers: authHeader() });
    if (!res.ok) throw new Error("The error report cannot be downloaded right now. Try again.");
    const blob = await res.blob();
    const a = el("a", { href: URL.createObjectURL(blob), download: `errors-${state.job.file_name.replace(/\.[^.]+$/, "")}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (e) {
    report(e);
  }
}

// importForReal imports a finished dry run for real: the same file,
// mapping and options, with no new upload. Sent once, however often the
// button is clicked.
async function importForReal() {
  const button = $("for-real");
  if (button.disabled) return;
  button.disabled = true;
  try {
    const job = await api(`/v1/imports/${state.job.id}/import`, { method: "POST" });
    go("#/imports/" + job.id);
  } catch (e) {
    report(e);
  } finally {
    button.disabled = false;
  }
}

// askUndo shows the confirmation in the page (a browser dialog would take
// the person out of it), its first button focused.
function askUndo() {
  $("undo-confirm").hidden = false;
  $("undo-yes").focus();
}

async function undo() {
  $("undo-confirm").hidden = true;
  $("undo").disabled = true;
  try {
    const job = await api(`/v1/imports/${state.job.id}/rollback`, { method: "POST" });
    const done = await poll(() => api("/v1/imports/" + job.id), (j) => { showUndo(j); return j.status !== "rolling_back"; });
    if (done) showResult(done);
  } catch (e) {
    report(e);
  } finally {
    $("undo").disabled = false;
  }
}

function showUndo(job) {
  const box = $("undo-result");
  box.hidden = false;
  const rb = job.rollback;
  if (!rb) { box.textContent = ""; return; }
  const children = [el("p", { text: job.status === "rolled_back"
    ? `Undone: ${plural(rb.done - rb.conflicts, "change", "changes")} reversed.` : `Undoing… ${rb.done} of ${rb.events}` })];
  if (rb.conflicts > 0) {
    children.push(el("p", { text: `${plural(rb.conflicts, "contact was", "contacts were")} left as they are, because they changed after the import:` }));
    const t = el("table", { class: "stack-on-phone" }, el("thead", {}, el("tr", {}, el("th", { text: "Contact" }), el("th", { text: "Why it was kept" }))));
    const tb = el("tbody");
    for (const c of rb.conflict_list || []) {
      const why = c.changed && c.changed.length ? "changed since: " + c.changed.map(fieldLabel).join(", ") : "changed since the import";
      tb.append(el("tr", {}, cell("Contact", c.email || c.contact_id), cell("Why it was kept", why)));
    }
    t.append(tb);
    children.push(t);
  }
  box.replaceChildren(...children);
  announce(children[0].textContent);
}

// ---- History ------------------------------------------------------------------

async function openHistory() {
  stopPolling();
  show("history");
  showAlert("");
  $("history-h").focus();
  let list;
  try {
    list = (await api("/v1/imports?limit=50")).imports;
  } catch (e) {
    report(e);
    return;
  }
  $("imports-empty").hidden = list.length > 0;
  $("imports").tBodies[0].replaceChildren(...list.map((j) => {
    const open = () => go("#/imports/" + j.id);
    const link = el("a", { href: "#", text: j.file_name, onclick: (e) => { e.preventDefault(); open(); } });
    const status = (STATUS_WORDS[j.status] || j.status) + (j.dry_run ? " (dry run)" : "");
    return el("tr", {}, cell("File", link), cell("Status", el("span", { class: "status-" + j.status, text: status })),
      cell("Rows", j.total_rows == null ? "" : j.total_rows), cell("Created", j.created_count), cell("Updated", j.updated_count),
      cell("Errors", j.error_count), cell("Started", new Date(j.created_at).toLocaleString()));
  }));
}

// ---- Exports --------------------------------------------------------------------

async function openExports() {
  stopPolling();
  show("exports");
  showAlert("");
  $("exports-h").focus();
  await loadFields();
  // Standard fields and timestamps are ticked; the tenant's custom fields
  // are offered, unticked.
  $("export-fields").replaceChildren(...state.fields.filter((f) => f.export).map((f) => {
    const box = el("input", { type: "checkbox", name: "field", value: f.name });
    box.checked = f.kind !== "custom";
    return el("label", { class: "check" }, box, " " + fieldLabel(f.name));
  }));
  try {
    const segs = (await api("/v1/segments")).segments || [];
    if (segs.length) $("segment").replaceChildren(...segs.map((s) => el("option", { value: s.id, text: s.name })));
  } catch (e) { /* segments are optional */ }
  await listExports();
}

async function listExports() {
  let list;
  try {
    list = (await api("/v1/exports?limit=20")).exports || [];
  } catch (e) {
    report(e);
    return;
  }
  $("export-list").tBodies[0].replaceChildren(...list.map(exportRow));
}

function exportRow(x) {
  let file = "";
  if (x.status === "expired") file = el("span", { class: "expired", text: "Expired" });
  else if (x.status === "completed") file = el("button", { type: "button", class: "secondary", text: "Download", onclick: () => downloadExport(x.id) });
  else if (x.status === "failed") file = x.failure_reason || "Failed";
  else file = `${x.percent || 0}%`;
  return el("tr", { id: "export-" + x.id }, cell("Created", new Date(x.created_at).toLocaleString()), cell("Format", (x.file_format || "").toUpperCase()),
    cell("Status", el("span", { class: "status-" + x.status, text: x.status })), cell("Contacts", x.total_contacts == null ? "" : x.total_contacts), cell("File", file));
}

async function downloadExport(id) {
  try {
    const x = await api("/v1/exports/" + id);
    if (!x.download_url) throw new Error(x.status === "expired" ? "This export has expired. Export again." : "The file is not ready yet.");
    window.location.href = x.download_url;
  } catch (e) {
    report(e);
  }
}

async function createExport(ev) {
  ev.preventDefault();
  showAlert("");
  const form = $("export-form");
  const which = form.which.value;
  const body = { file_format: form.format.value, selected_fields: [...form.querySelectorAll("input[name=field]:checked")].map((c) => c.value) };
  if (!body.selected_fields.length) { showAlert("Choose at least one field to export."); return; }
  if (which === "filter") {
    body.export_type = "filtered";
    const filters = {};
    const tags = $("filter-tags").value.split(",").map((t) => t.trim()).filter(Boolean);
    if (tags.length) filters.tags = tags;
    if ($("filter-after").value) filters.created_after = $("filter-after").value + "T00:00:00Z";
    if (!Object.keys(filters).length) { showAlert("Say which contacts to export: some tags or a date, or choose All contacts."); $("filter-tags").focus(); return; }
    body.filters = filters;
  } else if (which === "segment") {
    if (!$("segment").value) { showAlert("There is no saved segment yet. Choose All contacts or Only those matching."); return; }
    body.export_type = "segment";
    body.segment_id = $("segment").value;
  } else {
    body.export_type = "full";
  }
  let x;
  const submit = form.querySelector("button[type=submit]");
  if (submit.disabled) return; // sent once, whatever the clicks
  submit.disabled = true;
  try {
    x = await api("/v1/exports", { method: "POST", body });
  } catch (e) {
    report(e);
    return;
  } finally {
    submit.disabled = false;
  }
  announce("Export started.");
  await listExports();
  const done = await poll(() => api("/v1/exports/" + x.id), (v) => {
    const row = $("export-" + v.id);
    if (row) row.replaceWith(exportRow(v));
    return !["pending", "processing"].includes(v.status);
  }, 500);
  if (done) announce(done.status === "completed" ? `Export ready: ${plural(done.total_contacts || 0, "contact", "contacts")}. Choose Download.` : "The export failed.");
}

// ---- Wiring -------------------------------------------------------------------

function wire() {
  $("signin-form").addEventListener("submit", (e) => { e.preventDefault(); signIn($("token").value); });
  $("signout").addEventListener("click", () => signOut(""));
  for (const b of document.querySelectorAll("nav button[data-view]")) {
    b.addEventListener("click", () => go({ import: "#/import", history: "#/history", exports: "#/exports" }[b.dataset.view]));
  }
  $("file").addEventListener("change", () => { if ($("file").files[0]) startUpload($("file").files[0]); });
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files[0]) startUpload(e.dataTransfer.files[0]);
  });
  $("start").addEventListener("click", startImport);
  $("review-cancel").addEventListener("click", async () => { await cancelImport(); });
  $("progress-cancel").addEventListener("click", cancelImport);
  $("download-errors").addEventListener("click", downloadErrors);
  $("undo").addEventListener("click", askUndo);
  $("for-real").addEventListener("click", importForReal);
  $("undo-yes").addEventListener("click", undo);
  $("undo-no").addEventListener("click", () => { $("undo-confirm").hidden = true; $("undo").focus(); });
  $("again").addEventListener("click", () => go("#/import"));
  $("export-form").addEventListener("submit", createExport);
}

// ---- Addresses ------------------------------------------------------------------
//
// Every step has an address: #/import, #/imports/{id}, #/history, #/exports.
// Reload, Back, a bookmark and a shared link land on the same step.

// go shows the step at hash, and records it in the browser's history.
function go(hash) {
  if (location.hash === hash) route(); else location.hash = hash;
}

// at records the address of what the page shows now, without showing it
// again (an import the page has just created and is following).
function at(hash) {
  if (location.hash !== hash) history.pushState(null, "", hash);
}

async function route() {
  if (!localStorage.getItem(TOKEN_KEY)) { signOut(""); return; }
  const hash = location.hash;
  const job = hash.match(/^#\/imports\/([0-9a-f-]{36})$/);
  if (job) { openJob(job[1]); return; }
  if (hash === "#/history") { openHistory(); return; }
  if (hash === "#/exports") { openExports(); return; }
  if (hash === "#/import") { openImport(); return; }
  // The app opened with no step named: an import still running is shown.
  openImport();
  try {
    const [last] = (await api("/v1/imports?limit=1")).imports;
    if (last && ["awaiting_review", "processing", "rolling_back"].includes(last.status) && !location.hash) {
      history.replaceState(null, "", "#/imports/" + last.id);
      openJob(last.id);
    }
  } catch (e) { /* the pick step is shown; a failure here is shown by the next request */ }
}

function openJob(id) {
  stopPolling();
  show("import");
  showAlert("");
  state.job = { id };
  $("upload-name").textContent = "";
  $("upload-text").textContent = "Opening the import…";
  step("upload");
  followJob(id);
}

wire();
offerDevToken();
window.addEventListener("hashchange", route);
route();
