/* Testigo: quick exit, and resumable uploads (tus 1.0) for the report form.
 * Without this script every page still works: plain links and a multipart form.
 * Only upload URLs and sizes are kept in sessionStorage, never file data. */
(function () {
  "use strict";

  var STORE = "testigo-uploads";
  var CHUNK = 8 * 1024 * 1024;

  function quickExit() {
    var link = document.getElementById("quick-exit");
    if (!link) return;
    link.addEventListener("click", function (event) {
      event.preventDefault();
      try { sessionStorage.clear(); } catch (e) { /* storage may be disabled */ }
      // replace(): the page is swapped out of history, so Back does not return to it.
      window.location.replace(link.href);
    });
  }

  function pending() {
    try { return JSON.parse(sessionStorage.getItem(STORE) || "[]"); } catch (e) { return []; }
  }
  function savePending(list) {
    try { sessionStorage.setItem(STORE, JSON.stringify(list)); } catch (e) { /* ignore */ }
  }
  function remember(entry) {
    var list = pending().filter(function (e) { return e.url !== entry.url; });
    list.push(entry);
    savePending(list);
  }
  function forget(url) {
    savePending(pending().filter(function (e) { return e.url !== url; }));
  }

  function request(method, url, headers, body, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("Tus-Resumable", "1.0.0");
      Object.keys(headers).forEach(function (k) { xhr.setRequestHeader(k, headers[k]); });
      if (onProgress && xhr.upload) {
        xhr.upload.onprogress = function (e) { onProgress(e.loaded); };
      }
      xhr.onload = function () { resolve(xhr); };
      xhr.onerror = xhr.ontimeout = xhr.onabort = function () { reject(new Error("network")); };
      xhr.send(body === undefined ? null : body);
    });
  }

  // Errors are problem details (application/problem+json): `detail` is in the witness's language.
  function messageOf(xhr, fallback) {
    try { return JSON.parse(xhr.responseText).detail || fallback; } catch (e) { return fallback; }
  }

  function wait(ms) {
    return new Promise(function (resolve) {
      var timer = setTimeout(done, ms);
      function done() { clearTimeout(timer); window.removeEventListener("online", done); resolve(); }
      window.addEventListener("online", done);
    });
  }

  function Row(list, template, panel, name) {
    var node = template.content.firstElementChild.cloneNode(true);
    node.querySelector(".upload-name").textContent = name;
    this.bar = node.querySelector("progress");
    this.state = node.querySelector(".upload-state");
    this.node = node;
    this.panel = panel;
    list.appendChild(node);
    this.set("waiting");
  }
  Row.prototype.set = function (key, text) {
    this.state.textContent = text || this.panel.getAttribute("data-msg-" + key) || "";
    this.node.setAttribute("data-state", key);
  };
  Row.prototype.progress = function (done, total) {
    this.bar.value = total ? Math.floor((done / total) * 100) : 100;
  };

  // Send `file` to an existing upload from whatever offset the server has.
  async function send(url, file, row) {
    var delay = 1000;
    for (;;) {
      try {
        var head = await request("HEAD", url, {});
        if (head.status >= 400) {
          forget(url);
          row.set("failed", messageOf(head, ""));
          return false;
        }
        var offset = parseInt(head.getResponseHeader("Upload-Offset"), 10) || 0;
        while (offset < file.size) {
          row.set("uploading");
          row.progress(offset, file.size);
          var end = Math.min(offset + CHUNK, file.size);
          var start = offset;
          var res = await request(
            "PATCH", url,
            { "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream" },
            file.slice(offset, end),
            function (loaded) { row.progress(start + loaded, file.size); }
          );
          if (res.status === 204) {
            offset = parseInt(res.getResponseHeader("Upload-Offset"), 10);
            delay = 1000;
          } else if (res.status === 409 || res.status >= 500) {
            throw new Error("retry");
          } else {
            forget(url);
            row.set("failed", messageOf(res, ""));
            return false;
          }
        }
        forget(url);
        row.progress(1, 1);
        row.set("done");
        return true;
      } catch (e) {
        row.set("retrying");
        await wait(delay);
        delay = Math.min(delay * 2, 15000);
      }
    }
  }

  async function createAndSend(file, code, row) {
    var delay = 1000;
    for (;;) {
      try {
        var res = await request("POST", "/tus/", {
          "Upload-Length": String(file.size),
          "Upload-Metadata": "receipt " + btoa(code)
        });
        if (res.status !== 201) {
          row.set("failed", messageOf(res, ""));
          return false;
        }
        var url = res.getResponseHeader("Location");
        remember({ url: url, size: file.size, modified: file.lastModified });
        return await send(url, file, row);
      } catch (e) {
        row.set("retrying");
        await wait(delay);
        delay = Math.min(delay * 2, 15000);
      }
    }
  }

  function setUp(form) {
    var panel = document.getElementById("upload-panel");
    var template = document.getElementById("upload-row");
    if (!panel || !template || !window.XMLHttpRequest || !window.Promise) return;
    var inputs = form.querySelectorAll("input[type=file]");

    form.addEventListener("submit", function (event) {
      var files = [];
      inputs.forEach(function (input) { Array.prototype.push.apply(files, input.files); });
      if (!files.length) return; // nothing to upload: the plain form is best
      event.preventDefault();
      var data = new FormData(form);
      data.delete("attachments");
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      function plain() {
        // Invalid form or no answer: fall back to the plain form. On a validation error
        // the page comes back with messages, and files are chosen again anyway.
        inputs.forEach(function (input) { input.disabled = true; });
        form.submit();
      }
      fetch(form.action || window.location.href, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-Testigo-Resumable": "1" }
      }).then(function (res) {
        if (res.status !== 200) return plain();
        return res.json().then(function (body) { start(body.receipt_code, files); });
      }, plain);
    });

    function start(code, files) {
      form.hidden = true;
      document.querySelectorAll(".guidance, .lead, #error-summary, main > h1").forEach(
        function (n) { n.hidden = true; }
      );
      document.getElementById("receipt-code").textContent = code;
      panel.hidden = false;
      document.getElementById("upload-title").focus();
      var list = document.getElementById("upload-list");
      var rows = files.map(function (f) { return new Row(list, template, panel, f.name); });
      files.reduce(function (chain, file, i) {
        return chain.then(function () { return createAndSend(file, code, rows[i]); });
      }, Promise.resolve());
    }

    // After a reload mid-upload: offer to pick the same files again and continue.
    var left = pending();
    var resume = document.getElementById("resume-panel");
    if (!left.length || !resume) return;
    resume.hidden = false;
    var picker = document.getElementById("resume-files");
    picker.addEventListener("change", function () {
      var files = Array.prototype.slice.call(picker.files);
      var list = document.getElementById("resume-list");
      pending().forEach(function (entry) {
        var file = files.find(function (f) {
          return f.size === entry.size && f.lastModified === entry.modified;
        });
        if (file) send(entry.url, file, new Row(list, template, panel, file.name));
      });
    });
  }

  function init() {
    quickExit();
    var form = document.getElementById("report-form");
    if (form) setUp(form);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
