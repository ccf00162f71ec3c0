// The sensor map: one marker per station, coloured by freshness, with its latest readings and a link to
// the station page; the warnings in force as a switchable layer, their areas in the warning's colour. The
// table under the map and the warnings page carry the same information without it.
(function () {
  "use strict";
  const el = document.getElementById("sensor-map");
  if (!el || !window.L) { return; }
  const colours = { fresh: "#17623a", late: "#8a5a00", stale: "#a4161a", none: "#4a5561" };
  const map = L.map(el, { keyboard: true }).setView([31.23, 121.47], 11);
  window.sensorMap = map; // for the browser tests
  const stations = L.featureGroup().addTo(map);
  const warnings = L.featureGroup().addTo(map);
  L.control.layers(null, { [el.dataset.stationsLabel]: stations, [el.dataset.warningsLabel]: warnings },
    { collapsed: false }).addTo(map);
  const json = (url) => fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((r) => (r.ok ? r.json() : null)).catch(() => null);
  const districts = json("/ogcapi/collections/districts/items?limit=100");
  districts.then((data) => {
    if (data) { L.geoJSON(data, { style: { color: "#0b3d66", weight: 1, fillOpacity: 0.03 } }).addTo(map); }
  });
  // A dark edge keeps even a yellow area visible against the light background.
  const area = (hex) => ({ color: "#1b1f24", weight: 2, fillColor: hex, fillOpacity: 0.35 });
  Promise.all([districts, json("/alerts/warnings/active.json")]).then(([shapes, active]) => {
    for (const warning of (active || []).slice().reverse()) { // the most recent drawn on top
      const label = warning.headline;
      const named = shapes ? shapes.features.filter((f) => warning.areas.includes(String(f.id))) : [];
      if (named.length) {
        L.geoJSON({ type: "FeatureCollection", features: named }, { style: area(warning.hex) })
          .bindTooltip(label).addTo(warnings);
      }
      for (const ring of warning.polygons) {
        L.polygon(ring.map(([lon, lat]) => [lat, lon]), area(warning.hex)).bindTooltip(label).addTo(warnings);
      }
    }
    warnings.bringToBack();
  });
  json("/api/sensing/stations").then((data) => {
    if (!data) { return; }
    for (const feature of data.features) {
      const [lon, lat] = feature.geometry.coordinates;
      if (lon === null || lat === null) { continue; }
      const p = feature.properties;
      const marker = L.circleMarker([lat, lon], { radius: 8, color: colours[p.freshness], fillOpacity: 0.8 });
      const box = document.createElement("div");
      const link = document.createElement("a");
      link.href = el.dataset.stationUrl + feature.id;
      link.textContent = p.name;
      box.append(link);
      for (const r of p.readings) {
        const line = document.createElement("div");
        line.textContent = r.name + ": " + (r.value === null ? "—" : r.value) + " " + r.unit;
        box.append(line);
      }
      marker.bindPopup(box).addTo(stations);
    }
  });
})();
