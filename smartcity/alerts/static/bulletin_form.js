// The bulletin editor: only the colours the chosen hazard uses, the headline's length against one SMS, and
// areas drawn on the map. Each click on the map adds a corner to the text box, which stays the one place the
// areas are kept — and the way to enter them from the keyboard. The server checks everything again.
(function () {
  "use strict";
  const hazard = document.getElementById("field-hazard");
  const colour = document.getElementById("field-colour");
  function limitColours() {
    const chosen = hazard.selectedOptions[0];
    const allowed = chosen && chosen.dataset.colours ? chosen.dataset.colours.split(" ") : null;
    for (const option of colour.options) {
      if (!option.value) { continue; }
      const ok = !allowed || allowed.includes(option.value);
      option.hidden = !ok;
      option.disabled = !ok;
    }
    if (colour.selectedOptions[0] && colour.selectedOptions[0].disabled) { colour.value = ""; }
  }
  if (hazard && colour) {
    hazard.addEventListener("change", limitColours);
    limitColours();
  }

  const headline = document.getElementById("field-headline");
  const hint = document.getElementById("hint-headline");
  if (headline && hint) {
    const count = document.createElement("span");
    count.className = "count";
    hint.append(" ", count);
    const update = () => { count.textContent = headline.value.length + " / " + headline.dataset.limit; };
    headline.addEventListener("input", update);
    update();
  }

  const el = document.getElementById("draw-map");
  const box = document.getElementById("field-area_polygons");
  const tools = document.getElementById("draw-tools");
  if (!el || !box || !tools || !window.L) { return; }
  tools.hidden = false;
  const status = document.getElementById("draw-status");
  const said = (name) => tools.dataset[name] || "";
  const map = L.map(el, { keyboard: true }).setView([31.23, 121.47], 10);
  window.drawMap = map; // for the browser tests
  const drawn = L.featureGroup().addTo(map);
  let startAnother = false;

  function parse(text) {
    const trimmed = text.trim();
    if (!trimmed) { return []; }
    if (trimmed.startsWith("[")) {
      try { const rings = JSON.parse(trimmed); return Array.isArray(rings) ? rings : []; } catch (e) { return []; }
    }
    return trimmed.split(/\n\s*\n/).map((block) => block.split("\n")
      .map((line) => line.replace(/,/g, " ").trim().split(/\s+/).map(Number))
      .filter((point) => point.length === 2 && point.every(Number.isFinite)))
      .filter((ring) => ring.length);
  }
  const format = (rings) => rings
    .map((ring) => ring.map(([lon, lat]) => lon.toFixed(6) + ", " + lat.toFixed(6)).join("\n")).join("\n\n");

  function redraw() {
    drawn.clearLayers();
    for (const ring of parse(box.value)) {
      const points = ring.map(([lon, lat]) => [lat, lon]);
      if (points.length >= 3) {
        L.polygon(points, { color: "#a4161a", weight: 2, fillOpacity: 0.2 }).addTo(drawn);
      } else {
        L.polyline(points, { color: "#a4161a", weight: 2, dashArray: "4" }).addTo(drawn);
      }
      for (const point of points) { L.circleMarker(point, { radius: 4, color: "#a4161a" }).addTo(drawn); }
    }
  }
  function change(rings, message) {
    box.value = format(rings);
    redraw();
    status.textContent = message;
  }

  map.on("click", (event) => {
    const rings = parse(box.value);
    if (!rings.length || startAnother) { rings.push([]); startAnother = false; }
    const lon = event.latlng.lng, lat = event.latlng.lat;
    rings[rings.length - 1].push([lon, lat]);
    change(rings, said("added") + " " + lon.toFixed(6) + ", " + lat.toFixed(6));
  });
  document.getElementById("draw-new").addEventListener("click", () => {
    startAnother = true;
    status.textContent = said("another");
  });
  document.getElementById("draw-undo").addEventListener("click", () => {
    const rings = parse(box.value);
    if (rings.length) { rings[rings.length - 1].pop(); }
    change(rings.filter((ring) => ring.length), said("removed"));
  });
  document.getElementById("draw-clear").addEventListener("click", () => change([], said("cleared")));
  box.addEventListener("input", redraw);

  redraw();
  fetch("/ogcapi/collections/districts/items?limit=100", { headers: { Accept: "application/geo+json" } })
    .then((r) => (r.ok ? r.json() : null))
    .catch(() => null)
    .then((districts) => {
      if (!districts) { return; }
      const outlines = L.geoJSON(districts, { style: { color: "#0b3d66", weight: 1, fillOpacity: 0.04 } }).addTo(map);
      outlines.bringToBack();
      const target = drawn.getLayers().length ? drawn : outlines;
      map.fitBounds(target.getBounds(), { animate: false, maxZoom: 14 });
    });
})();
