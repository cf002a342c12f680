/* Testigo: quick exit, and resumable uploads (tus 1.0) for the report and follow-up forms.
 * Without this script every page still works: plain links and multipart forms.
 *
 * Made for slow, broken phone links: chunks start small and grow to the measured rate
 * (a few seconds each); a stall is a lack of progress, never a total time; after any
 * failure the server's offset (HEAD) says where to go on. A file not yet sent is kept in
 * this browser's IndexedDB, keyed by its upload URL, so a reload or a tab the phone
 * discarded resumes by itself; it is deleted as soon as it is sent, and Quick exit
 * deletes everything. The receipt code of the report sent from this tab is kept in the
 * tab's session storage (gone when the tab closes, and at Quick exit), so a reload still
 * shows it.
 *
 * The report form is capture first: a few words, the camera, the files and Send; the
 * optional questions follow. It is checked here before anything is sent, and a refusal
 * from the server is shown in place, so a chosen file is never dropped. */
(function () {
  "use strict";

  var KIB = 1024;
  var FIRST_CHUNK = 128 * KIB; // a slow link learns its rate within seconds
  var MIN_CHUNK = 64 * KIB;
  var MAX_CHUNK = 8 * KIB * KIB;
  var TARGET_S = 6; // seconds per PATCH to aim for
  var STALL_MS = 30000; // no upload progress this long: the link is stuck
  var ANSWER_MS = 60000; // body sent, no answer this long: ask the server where it is
  var OFFLINE_AFTER = 3; // network errors in a row, no progress between: no connection
  var WINDOW_MS = 20000; // the rate behind "time left" is measured over this much
  var DB = "testigo";
  var STORE = "uploads";

  var stopped = false; // Quick exit: nothing more leaves this page
  var active = new Set(); // requests in flight, aborted by Quick exit
  var sending = new Set(); // upload URLs this page is sending

  function now() { return Date.now(); }

  // --- Files kept in the browser until sent (IndexedDB) -----------------------------------

  var dbOpening = null;
  function dbOpen() {
    if (!window.indexedDB) return Promise.resolve(null);
    if (!dbOpening) {
      dbOpening = new Promise(function (resolve) {
        var req;
        try { req = indexedDB.open(DB, 1); } catch (e) { resolve(null); return; }
        req.onupgradeneeded = function () {
          req.result.createObjectStore(STORE, { keyPath: "url" });
        };
        req.onsuccess = function () {
          var db = req.result;
          // Quick exit in another tab deletes the database: let it.
          db.onversionchange = function () { db.close(); dbOpening = null; };
          resolve(db);
        };
        req.onerror = req.onblocked = function () { resolve(null); };
      });
    }
    return dbOpening;
  }

  // Run one transaction; resolves with the request's result, or null if anything failed
  // (private mode, storage full): uploads then simply go on without surviving a reload.
  function dbDo(mode, work) {
    return dbOpen().then(function (db) {
      if (!db) return null;
      return new Promise(function (resolve) {
        try {
          var tx = db.transaction(STORE, mode);
          var req = work(tx.objectStore(STORE));
          tx.oncomplete = function () { resolve(req ? req.result : true); };
          tx.onerror = tx.onabort = function () { resolve(null); };
        } catch (e) { resolve(null); }
      });
    });
  }
  function keep(record) { return dbDo("readwrite", function (s) { return s.put(record); }); }
  function drop(url) { return dbDo("readwrite", function (s) { s.delete(url); }); }
  function keptList() {
    if (!window.indexedDB) return Promise.resolve([]);
    // Do not create the database just to look: a phone that never sent keeps no trace.
    var exists = indexedDB.databases
      ? indexedDB.databases().then(
        function (list) { return list.some(function (d) { return d.name === DB; }); },
        function () { return true; })
      : Promise.resolve(true);
    return exists.then(function (yes) {
      return yes ? dbDo("readonly", function (s) { return s.getAll(); }) : null;
    }).then(function (list) { return list || []; });
  }

  function forgetEverything() {
    stopped = true;
    active.forEach(function (xhr) { xhr.abort(); });
    try { sessionStorage.clear(); } catch (e) { /* storage may be disabled */ }
    try { localStorage.clear(); } catch (e) { /* storage may be disabled */ }
    if (!window.indexedDB) return Promise.resolve();
    var closed = dbOpening ? dbOpening.then(function (db) { if (db) db.close(); }) : Promise.resolve();
    return new Promise(function (resolve) {
      setTimeout(resolve, 1500); // never hold the witness back for long
      closed.then(function () {
        var req = indexedDB.deleteDatabase(DB);
        req.onsuccess = req.onerror = req.onblocked = function () { resolve(); };
      });
    });
  }

  function quickExit() {
    var link = document.getElementById("quick-exit");
    if (!link) return;
    link.addEventListener("click", function (event) {
      event.preventDefault();
      forgetEverything().then(function () {
        // replace(): the page is swapped out of history, so Back does not return to it.
        window.location.replace(link.href);
      });
    });
  }

  // --- Keep the screen on while sending (Screen Wake Lock, where the browser has it) --------

  var busy = 0;
  var wakeLock = null;
  function stayAwake() {
    if (!busy || wakeLock || !navigator.wakeLock || document.visibilityState !== "visible") return;
    navigator.wakeLock.request("screen").then(function (lock) {
      wakeLock = lock;
      lock.addEventListener("release", function () { wakeLock = null; });
      if (!busy) lock.release();
    }, function () { /* refused (battery saver, no permission): sending goes on */ });
  }
  function mayRest() {
    if (wakeLock) wakeLock.release();
    wakeLock = null;
  }
  // The lock goes when the page is hidden; take it again when the witness comes back.
  document.addEventListener("visibilitychange", stayAwake);

  // One file at a time: on a thin link, parallel uploads only make each one later.
  var queue = Promise.resolve();
  function enqueue(job) {
    busy += 1;
    stayAwake();
    queue = queue.then(job).catch(function () { /* the row already says why */ }).then(function () {
      busy -= 1;
      if (!busy) mayRest();
    });
    return queue;
  }

  // --- HTTP -----------------------------------------------------------------------------------

  // Rejects on a network error or a stall: no upload progress for STALL_MS while the body
  // goes out, no answer for ANSWER_MS after it went.
  function request(method, url, headers, body, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      var timer = null;
      function arm(ms) {
        clearTimeout(timer);
        timer = setTimeout(function () { xhr.abort(); }, ms);
      }
      function settle() { clearTimeout(timer); active.delete(xhr); }
      xhr.open(method, url);
      xhr.setRequestHeader("Tus-Resumable", "1.0.0");
      Object.keys(headers).forEach(function (k) { xhr.setRequestHeader(k, headers[k]); });
      if (body && xhr.upload) {
        xhr.upload.onprogress = function (e) {
          arm(STALL_MS);
          if (onProgress) onProgress(e.loaded);
        };
        xhr.upload.onload = function () { arm(ANSWER_MS); };
      }
      xhr.onload = function () { settle(); resolve(xhr); };
      xhr.onerror = xhr.ontimeout = xhr.onabort = function () {
        settle();
        reject(new Error("network"));
      };
      active.add(xhr);
      arm(STALL_MS);
      xhr.send(body || null);
    });
  }

  function offsetOf(xhr) { return parseInt(xhr.getResponseHeader("Upload-Offset"), 10); }

  // Errors are problem details (application/problem+json): `detail` is in the witness's language.
  function messageOf(xhr) {
    try { return JSON.parse(xhr.responseText).detail || ""; } catch (e) { return ""; }
  }

  // Retry later: the server is busy or briefly unavailable, or the offsets disagree.
  function retryable(status) { return status === 409 || status === 423 || status === 429 || status >= 500; }

  // Full jitter over an exponential step, so many phones coming back at once spread out.
  function backoff(failures) {
    var step = Math.min(1000 * Math.pow(2, failures - 1), 30000);
    return step / 2 + Math.random() * (step / 2);
  }

  // Resolves after `ms`, or at once when the connection comes back.
  function pause(ms) {
    return new Promise(function (resolve) {
      var timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        window.removeEventListener("online", done);
        resolve();
      }
      window.addEventListener("online", done);
    });
  }

  function nextChunk(previous, rate) {
    var size = Math.min(rate * TARGET_S, previous * 2);
    size = Math.floor(size / MIN_CHUNK) * MIN_CHUNK;
    return Math.max(MIN_CHUNK, Math.min(MAX_CHUNK, size));
  }

  // --- What the witness sees ----------------------------------------------------------------

  var messages = null;
  function msg(key, values) {
    var text = (messages && messages.getAttribute("data-msg-" + key)) || "";
    Object.keys(values || {}).forEach(function (k) { text = text.split("{" + k + "}").join(values[k]); });
    return text;
  }

  function megabytes(bytes, digits) {
    var value = bytes / 1e6;
    try {
      return value.toLocaleString(document.documentElement.lang || undefined, {
        minimumFractionDigits: digits, maximumFractionDigits: digits
      });
    } catch (e) { return value.toFixed(digits); }
  }

  function timeLeft(seconds) {
    if (seconds < 60) return msg("left-s", { n: Math.max(5, Math.ceil(seconds / 5) * 5) });
    if (seconds < 3600) return msg("left-min", { n: Math.ceil(seconds / 60) });
    return msg("left-h", { n: Math.round(seconds / 3600) });
  }

  // Bytes sent over time, for an honest "time left": the rate is measured over the last
  // WINDOW_MS up to now, so a stall makes the estimate grow instead of freezing.
  function Meter(total) { this.total = total; this.samples = []; this.sent = 0; }
  Meter.prototype.at = function (sent) {
    var t = now();
    if (sent < this.sent) this.samples = []; // a cut: the server's offset is the truth
    this.sent = sent;
    this.samples.push([t, sent]);
    while (this.samples.length > 2 && t - this.samples[1][0] > WINDOW_MS) this.samples.shift();
  };
  Meter.prototype.secondsLeft = function () {
    if (!this.samples.length) return null;
    var first = this.samples[0];
    var elapsed = (now() - first[0]) / 1000;
    var rate = (this.sent - first[1]) / elapsed;
    if (elapsed < 3 || rate <= 0) return null;
    return (this.total - this.sent) / rate;
  };

  function Row(list, name, size) {
    var template = document.getElementById("upload-row");
    var node = template.content.firstElementChild.cloneNode(true);
    node.querySelector(".upload-name").textContent = name;
    this.bar = node.querySelector("progress");
    this.state = node.querySelector(".upload-state");
    this.detail = node.querySelector(".upload-progress");
    this.node = node;
    this.meter = new Meter(size);
    this.shown = 0;
    list.appendChild(node);
    this.set("waiting");
  }
  Row.prototype.set = function (key, text) {
    if (this.node.getAttribute("data-state") === key && !text) return;
    // Only the state is announced (role=status); the figures change too often for that.
    this.state.textContent = text || msg(key);
    this.node.setAttribute("data-state", key);
    if (key === "done" || key === "failed") this.detail.textContent = "";
  };
  Row.prototype.progress = function (sent, force) {
    var meter = this.meter;
    meter.at(sent);
    this.bar.value = meter.total ? Math.floor((sent / meter.total) * 100) : 100;
    this.node.setAttribute("data-sent", String(sent));
    if (!force && now() - this.shown < 1000) return;
    this.shown = now();
    var digits = meter.total < 1e7 ? 2 : 1;
    var text = msg("progress", { done: megabytes(sent, digits), total: megabytes(meter.total, digits) });
    var left = meter.secondsLeft();
    this.node.setAttribute("data-left", left === null ? "" : String(Math.round(left)));
    if (left !== null && sent < meter.total) text += " · " + timeLeft(left);
    this.detail.textContent = text;
  };

  // --- Sending --------------------------------------------------------------------------------

  // Send `file` to an existing upload from whatever offset the server has; true when the
  // server has it all. The kept copy is dropped once sent, or once it never can be.
  async function send(url, file, row) {
    var chunk = FIRST_CHUNK;
    var failures = 0;
    function give(up, xhr) {
      drop(url);
      sending.delete(url);
      row.set(up, up === "failed" ? messageOf(xhr) || msg("failed") : "");
      return up === "done";
    }
    for (;;) {
      if (stopped) return false;
      try {
        var head = await request("HEAD", url, {});
        if (head.status >= 400 && !retryable(head.status)) return give("failed", head);
        if (head.status >= 400) throw new Error("busy");
        var offset = offsetOf(head) || 0;
        row.progress(offset, true);
        while (offset < file.size) {
          if (stopped) return false;
          row.set(failures ? "slow" : "uploading");
          var end = Math.min(offset + chunk, file.size);
          var start = offset;
          var began = now();
          var res = await request(
            "PATCH", url,
            { "Upload-Offset": String(start), "Content-Type": "application/offset+octet-stream" },
            file.slice(start, end),
            function (loaded) {
              failures = 0;
              row.set("uploading");
              row.progress(start + loaded);
            }
          );
          if (res.status === 204 && offsetOf(res) > start) {
            offset = offsetOf(res);
            chunk = nextChunk(chunk, (offset - start) / Math.max(0.001, (now() - began) / 1000));
            failures = 0;
            row.progress(offset, true);
          } else if (res.status === 204 || retryable(res.status)) {
            throw new Error("retry");
          } else {
            return give("failed", res);
          }
        }
        return give("done");
      } catch (e) {
        if (stopped) return false;
        failures += 1;
        chunk = Math.max(MIN_CHUNK, Math.floor(chunk / 2 / MIN_CHUNK) * MIN_CHUNK);
        var offline = navigator.onLine === false || failures >= OFFLINE_AFTER;
        row.set(offline ? "offline" : "slow");
        await pause(backoff(failures));
      }
    }
  }

  // A file kept from an earlier page: it may be unreadable now (deleted from the phone).
  function readable(file) {
    if (!file || !file.slice) return Promise.resolve(false);
    if (!file.size || !file.slice(0, 1).arrayBuffer) return Promise.resolve(!!file.size);
    return file.slice(0, 1).arrayBuffer().then(function () { return true; }, function () { return false; });
  }

  // Only one tab sends an upload at a time (Web Locks, where the browser has them).
  function exclusive(url, job) {
    if (!navigator.locks) return job();
    return navigator.locks.request("testigo " + url, { ifAvailable: true }, function (lock) {
      return lock ? job() : null;
    });
  }

  function sendQueued(record, row) {
    sending.add(record.url);
    return enqueue(function () {
      return exclusive(record.url, function () { return send(record.url, record.file, row); });
    });
  }

  // Create an upload for `file` (POST /tus/): retried until the server answers. Resolves
  // with the kept record, or null when the server refused it (the row says why).
  async function create(file, headers, row) {
    var failures = 0;
    for (;;) {
      if (stopped) return null;
      try {
        var base = { "Upload-Length": String(file.size) };
        Object.keys(headers).forEach(function (k) { base[k] = headers[k]; });
        var res = await request("POST", "/tus/", base);
        if (res.status === 201) {
          return { url: res.getResponseHeader("Location"), file: file, name: file.name, added: now() };
        }
        if (!retryable(res.status)) {
          row.set("failed", messageOf(res) || msg("failed"));
          return null;
        }
        throw new Error("busy");
      } catch (e) {
        failures += 1;
        row.set(navigator.onLine === false || failures >= OFFLINE_AFTER ? "offline" : "slow");
        await pause(backoff(failures));
      }
    }
  }

  // Create every upload first (each kept for a reload), then send them one by one.
  async function createAll(files, headers, list) {
    var rows = files.map(function (f) { return new Row(list, f.name, f.size); });
    var records = [];
    var stored = [];
    for (var i = 0; i < files.length; i += 1) {
      var record = await create(files[i], headers, rows[i]);
      if (!record) continue;
      records.push([record, rows[i]]);
      stored.push(keep(record));
    }
    var kept = await Promise.all(stored);
    return { records: records, kept: kept.every(function (k) { return k !== null; }) };
  }

  function chosenFiles(form) {
    var files = [];
    form.querySelectorAll("input[type=file]").forEach(function (input) {
      Array.prototype.push.apply(files, input.files);
    });
    return files;
  }

  // --- Receipt codes: groups on one line each, copy and share, kept in the tab -----------

  var KEPT = "testigo-receipt";

  function keptCode() {
    try { return sessionStorage.getItem(KEPT) || ""; } catch (e) { return ""; }
  }
  function keepCode(code) {
    try { sessionStorage.setItem(KEPT, code); } catch (e) { /* storage may be disabled */ }
  }

  function showCode(element, code) {
    element.textContent = "";
    element.setAttribute("data-code", code);
    code.split("-").forEach(function (group, i, groups) {
      var span = document.createElement("span");
      span.className = "group";
      span.textContent = group;
      element.appendChild(span);
      if (i < groups.length - 1) {
        element.appendChild(document.createTextNode("-"));
        element.appendChild(document.createElement("wbr"));
      }
    });
    wireCode(element.closest(".receipt-box"), code);
  }

  function wireCode(box, code) {
    if (!box || !code) return;
    var actions = box.querySelector(".receipt-actions");
    var copy = box.querySelector(".receipt-copy");
    var share = box.querySelector(".receipt-share");
    actions.hidden = false;
    copy.onclick = function () {
      var label = copy.getAttribute("data-label") || copy.textContent;
      copy.setAttribute("data-label", label);
      var done = function () {
        copy.textContent = copy.getAttribute("data-done");
        setTimeout(function () { copy.textContent = label; }, 3000);
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(code).then(done, function () { selectCode(box); });
      } else {
        selectCode(box);
      }
    };
    if (navigator.share) {
      share.hidden = false;
      share.onclick = function () {
        navigator.share({ text: code }).catch(function () { /* the witness closed the sheet */ });
      };
    }
  }

  // No clipboard: select the code so the phone's own Copy is one tap away.
  function selectCode(box) {
    var range = document.createRange();
    range.selectNodeContents(box.querySelector(".receipt"));
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  // A receipt on this page (the page after a post without the script) is kept; a page
  // without one shows the tab's kept code, above the files still being sent.
  function setUpReceipts() {
    var shown = "";
    document.querySelectorAll(".receipt[data-code]").forEach(function (element) {
      var code = element.getAttribute("data-code");
      if (!code) return;
      shown = code;
      keepCode(code);
      wireCode(element.closest(".receipt-box"), code);
    });
    var kept = document.getElementById("receipt-kept");
    var code = keptCode();
    if (kept && code && !shown) {
      showCode(kept.querySelector(".receipt"), code);
      kept.hidden = false;
    }
  }

  // --- The report form: checked here, text first (JSON answer with the receipt), then files

  function formMsg(form, key) { return form.getAttribute("data-msg-" + key) || ""; }

  // The witness's mistakes that can be seen before sending, with the server's own words.
  function checkReport(form, files) {
    var errors = [];
    var words = form.querySelector("#id_description");
    if (words && !words.value.trim() && !files.length) {
      errors.push({ field: "description", text: formMsg(form, "need") });
    }
    form.querySelectorAll("input[type=number]").forEach(function (input) {
      var value = input.value.trim();
      if (!value && !(input.validity && input.validity.badInput)) return;
      var number = Number(value);
      var low = input.min === "" ? -Infinity : Number(input.min);
      var high = input.max === "" ? Infinity : Number(input.max);
      if (!/^\d+$/.test(value) || number < low || number > high) {
        errors.push({ field: input.name, text: formMsg(form, "number") });
      }
    });
    var channel = form.querySelector("[name=contact_channel]");
    var contact = form.querySelector("[name=contact_value]");
    var consent = form.querySelector("[name=consent_contact]");
    if (channel && contact) {
      var value = contact.value.trim();
      if (value && !channel.value) errors.push({ field: "contact_channel", text: formMsg(form, "channel") });
      if (channel.value && !value) errors.push({ field: "contact_value", text: formMsg(form, "value") });
      if (value && channel.value === "email" && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)) {
        errors.push({ field: "contact_value", text: formMsg(form, "email") });
      }
      if (value && consent && !consent.checked) {
        errors.push({ field: "consent_contact", text: formMsg(form, "consent") });
      }
    }
    return errors;
  }

  function clearErrors(form) {
    document.querySelectorAll(".js-error").forEach(function (node) { node.remove(); });
    form.querySelectorAll(".has-error").forEach(function (node) { node.classList.remove("has-error"); });
    var summary = document.getElementById("error-summary");
    if (summary) summary.hidden = true;
  }

  // Errors shown as the server shows them: a summary linking to each field, and the
  // message at the field. Nothing the witness typed or chose is touched.
  function showErrors(form, errors) {
    clearErrors(form);
    var summary = document.getElementById("error-summary");
    if (!summary) {
      summary = document.createElement("div");
      summary.className = "error-summary";
      summary.id = "error-summary";
      summary.setAttribute("role", "alert");
      summary.tabIndex = -1;
      form.parentNode.insertBefore(summary, form);
    }
    summary.textContent = "";
    var title = document.createElement("h2");
    title.textContent = formMsg(form, "summary");
    var list = document.createElement("ul");
    summary.appendChild(title);
    summary.appendChild(list);
    errors.forEach(function (error) {
      var item = document.createElement("li");
      var input = error.field && form.querySelector("[name=" + error.field + "]");
      if (!input) {
        item.textContent = error.text;
      } else {
        var box = input.closest(".field, .capture") || input.parentNode;
        var label = form.querySelector("label[for=" + input.id + "]");
        var legend = box.querySelector("legend");
        var link = document.createElement("a");
        link.href = "#" + input.id;
        link.textContent = ((legend || label) ? (legend || label).textContent.trim() + ": " : "") + error.text;
        item.appendChild(link);
        var note = document.createElement("p");
        note.className = "error js-error";
        note.id = "id_" + error.field + "_error";
        note.textContent = error.text;
        box.insertBefore(note, box.querySelector("input, select, textarea, .options"));
        box.classList.add("has-error");
        var details = input.closest("details");
        if (details) details.open = true;
      }
      list.appendChild(item);
    });
    summary.hidden = false;
    summary.focus();
  }

  function serverErrors(json) {
    var errors = [];
    Object.keys(json || {}).forEach(function (field) {
      json[field].forEach(function (e) {
        errors.push({ field: field === "__all__" ? null : field, text: e.message });
      });
    });
    return errors;
  }

  // Under each capture button, what was chosen, in the page's language.
  function showChosen(form) {
    var capture = document.getElementById("capture");
    if (!capture) return;
    capture.classList.add("scripted");
    capture.querySelectorAll("input[type=file]").forEach(function (input) {
      var note = document.getElementById(input.id + "_chosen");
      if (!note) return;
      function update() {
        var names = Array.prototype.map.call(input.files, function (f) { return f.name; });
        note.textContent = names.length
          ? formMsg(capture, "chosen").split("{names}").join(names.join(", "))
          : formMsg(capture, "none");
      }
      input.addEventListener("change", update);
      update();
      note.hidden = false;
    });
  }

  function setUpReport(form) {
    var panel = document.getElementById("upload-panel");
    if (!panel) return;
    var details = document.getElementById("report-details");
    var send = document.getElementById("send-report");
    // Capture first: with the script, the optional questions come after Send. Without
    // it they stay before the file inputs, folded (the post must carry text first).
    if (details && send) {
      form.appendChild(details);
      details.open = true;
    }
    showChosen(form);
    var buttons = form.querySelectorAll("button[type=submit]");
    function busy(yes) { buttons.forEach(function (b) { b.disabled = yes; }); }

    form.addEventListener("submit", function (event) {
      var files = chosenFiles(form);
      var errors = checkReport(form, files);
      if (errors.length) {
        event.preventDefault();
        showErrors(form, errors);
        return;
      }
      if (!files.length) return; // nothing to upload: the plain form is best
      event.preventDefault();
      var data = new FormData(form);
      data.delete("attachments");
      busy(true);
      function unsent(text) {
        busy(false);
        showErrors(form, [{ field: null, text: text || formMsg(form, "unsent") }]);
      }
      fetch(form.action || window.location.href, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-Testigo-Resumable": "1" }
      }).then(function (res) {
        if (res.status === 200) {
          return res.json().then(function (body) { start(body.receipt_code, files); });
        }
        return res.json().then(function (body) {
          if (res.status === 400 && body.errors) {
            busy(false);
            showErrors(form, serverErrors(body.errors));
          } else {
            unsent(body.message || body.detail);
          }
        }, function () { unsent(""); });
      }, function () { unsent(""); });
    });

    function start(code, files) {
      form.hidden = true;
      document.querySelectorAll(".guidance, #error-summary, #receipt-kept, #files-again, main > h1").forEach(
        function (n) { n.hidden = true; }
      );
      keepCode(code);
      showCode(document.getElementById("receipt-code"), code);
      panel.hidden = false;
      document.getElementById("upload-title").focus();
      var list = document.getElementById("upload-list");
      createAll(files, { "Upload-Metadata": "receipt " + btoa(code) }, list).then(function (made) {
        made.records.forEach(function (pair) { sendQueued(pair[0], pair[1]); });
      });
    }
  }

  // --- The follow-up page: same uploads, created through the follow-up session -------------

  function setUpFollowUp(form) {
    var inputs = form.querySelectorAll("input[type=file]");
    var body = form.querySelector("textarea");
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");

    form.addEventListener("submit", function (event) {
      var files = chosenFiles(form);
      if (!files.length || !token) return;
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      var list = showStatus();
      document.getElementById("upload-status-title").focus();
      // The session is the authority here, so the CSRF token goes along.
      createAll(files, { "X-CSRFToken": token.value }, list).then(async function (made) {
        inputs.forEach(function (input) { input.value = ""; });
        var text = body && body.value.trim();
        if (text && made.kept && made.records.length === files.length) {
          // Every file is kept for the next page, which goes on sending them: post the
          // text as the plain form does, so its answer shows any error in place.
          inputs.forEach(function (input) { input.disabled = true; });
          form.submit();
          return;
        }
        if (text) await postText(form, body);
        button.disabled = false;
        made.records.forEach(function (pair) { sendQueued(pair[0], pair[1]); });
      });
    });
  }

  // The text alone, when the files cannot wait for a new page: the answer is a page, and
  // its thank-you note says the text was kept.
  function postText(form, body) {
    var data = new FormData(form);
    data.delete("attachments");
    return fetch(form.action, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (res) { return res.text(); })
      .then(function (html) {
        var answer = new DOMParser().parseFromString(html, "text/html");
        var sent = document.getElementById("followup-sent");
        if (!answer.querySelector("#followup-sent:not([hidden])") || !sent) return;
        body.value = "";
        sent.hidden = false;
      }, function () { /* the text stays in the box: the witness can send it again */ });
  }

  // --- Files left over from an earlier page (reload, discarded tab) -------------------------

  function showStatus() {
    var status = document.getElementById("upload-status");
    status.hidden = false;
    return document.getElementById("upload-status-list");
  }

  function resumeKept() {
    return keptList().then(function (records) {
      records.sort(function (a, b) { return a.added - b.added; });
      return records.reduce(function (chain, record) {
        return chain.then(function () {
          if (sending.has(record.url)) return null;
          return readable(record.file).then(function (ok) {
            if (!ok) return drop(record.url);
            sendQueued(record, new Row(showStatus(), record.name, record.file.size));
            return null;
          });
        });
      }, Promise.resolve());
    });
  }

  function init() {
    quickExit();
    setUpReceipts();
    messages = document.getElementById("upload-status");
    if (!messages || !window.XMLHttpRequest || !window.Promise || !window.Set) return;
    var form = document.getElementById("report-form");
    if (form) setUpReport(form);
    form = document.getElementById("followup-form");
    if (form) setUpFollowUp(form);
    resumeKept();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
