/* The review page of a publishable copy (admin/reports/publication_review.html): draws
   each region on the frames it covers, and lets a reviewer drag a box on a frame, which
   fills in the "new box" and "on frame" inputs (in the copy's own pixels). Positions are
   set through the CSSOM: the content security policy allows no inline style or script. */
(function () {
  "use strict";

  var section = document.getElementById("testigo-frames");
  var data = document.getElementById("testigo-regions");
  if (!section || !data) return;
  var width = Number(section.getAttribute("data-width"));
  var regions = JSON.parse(data.textContent);
  var drawable = section.hasAttribute("data-drawable");

  function boxAt(region, frame) {
    // The region's box on this frame: its own, or the nearest one it has (a track
    // between detections, a hand box held or followed).
    if (frame < region.start || frame > region.end) return null;
    if (region.boxes[String(frame)]) return region.boxes[String(frame)];
    var best = null, distance = Infinity;
    Object.keys(region.boxes).forEach(function (key) {
      var d = Math.abs(Number(key) - frame);
      if (d < distance) { distance = d; best = region.boxes[key]; }
    });
    return best;
  }

  function place(element, box, scale) {
    element.style.left = box[0] * scale + "px";
    element.style.top = box[1] * scale + "px";
    element.style.width = (box[2] - box[0]) * scale + "px";
    element.style.height = (box[3] - box[1]) * scale + "px";
  }

  function draw(figure) {
    var stage = figure.querySelector(".testigo-frame-stage");
    var image = stage.querySelector("img");
    var frame = Number(figure.getAttribute("data-frame"));
    var scale = image.clientWidth / width;
    stage.querySelectorAll(".testigo-region").forEach(function (old) { old.remove(); });
    regions.forEach(function (region) {
      var box = boxAt(region, frame);
      if (!box) return;
      var mark = document.createElement("span");
      mark.className = "testigo-region testigo-region-" + region.source +
        (region.removed ? " testigo-region-removed" : "");
      mark.setAttribute("data-region", region.id);
      mark.title = "Region " + region.id + (region.removed ? " (removed)" : "");
      place(mark, box, scale);
      stage.appendChild(mark);
    });
    if (drawable) enableDrag(stage, image, frame);
  }

  function enableDrag(stage, image, frame) {
    if (stage.hasAttribute("data-drag")) return;
    stage.setAttribute("data-drag", "1");
    var start = null, rubber = null;
    function point(event) {
      var rect = image.getBoundingClientRect();
      var scale = image.clientWidth / width;
      return [
        Math.max(0, Math.min(event.clientX - rect.left, rect.width)) / scale,
        Math.max(0, Math.min(event.clientY - rect.top, rect.height)) / scale,
      ];
    }
    stage.addEventListener("mousedown", function (event) {
      event.preventDefault();
      start = point(event);
      if (rubber) rubber.remove();
      rubber = document.createElement("span");
      rubber.className = "testigo-region testigo-region-new";
      stage.appendChild(rubber);
    });
    stage.addEventListener("mousemove", function (event) {
      if (!start) return;
      var end = point(event);
      place(rubber, box(start, end), image.clientWidth / width);
    });
    window.addEventListener("mouseup", function (event) {
      if (!start) return;
      var drawn = box(start, point(event));
      start = null;
      if (drawn[2] - drawn[0] < 4 || drawn[3] - drawn[1] < 4) { rubber.remove(); return; }
      set("id_region_box", drawn.map(Math.round).join(","));
      set("id_region_frame", frame);
      var end = document.getElementById("id_region_end");
      if (end && !end.value) end.value = frame;
    });
  }

  function box(a, b) {
    return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[0], b[0]), Math.max(a[1], b[1])];
  }

  function set(id, value) {
    var input = document.getElementById(id);
    if (input) {
      input.value = value;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }

  function drawAll() { section.querySelectorAll(".testigo-frame").forEach(draw); }
  section.querySelectorAll("img").forEach(function (image) {
    if (image.complete) draw(image.closest(".testigo-frame"));
    else image.addEventListener("load", function () { draw(image.closest(".testigo-frame")); });
  });
  window.addEventListener("resize", drawAll);
})();
