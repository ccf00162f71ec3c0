// The sensor map: one marker per station, coloured by freshness, with its latest readings and a link to
// the station page. The table under the map carries the same information without it.
(function () {
  "use strict";
  const el = document.getElementById("sensor-map");
  if (!el || !window.L) { return; }
  const colours = { fresh: "#17623a", late: "#8a5a00", stale: "#a4161a", none: "#4a5561" };
  const map = L.map(el, { keyboard: true }).setView([31.23, 121.47], 11);
  fetch("/ogcapi/collections/districts/items?limit=100").then((r) => r.ok ? r.json() : null).then((data) => {
    if (data) { L.geoJSON(data, { style: { color: "#0b3d66", weight: 1, fillOpacity: 0.03 } }).addTo(map); }
  });
  fetch("/api/sensing/stations", { credentials: "same-origin" }).then((r) => r.ok ? r.json() : null).then((data) => {
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
      marker.bindPopup(box).addTo(map);
    }
  });
})();
