// Maps of warning areas (the public warnings page, a bulletin's page): the districts a warning names, outlined
// from the map service, and its drawn polygons, in the warning's colour. The page's text says the same; the map
// only shows it. No basemap tiles: a city's network may not reach a tile server.
(function () {
  "use strict";
  const el = document.getElementById("area-map");
  const data = document.getElementById("warning-areas");
  if (!el || !data || !window.L) { return; }
  const areas = JSON.parse(data.textContent);
  const map = L.map(el, { keyboard: true }).setView([31.23, 121.47], 9);
  window.areaMap = map; // for the browser tests
  const shown = L.featureGroup().addTo(map);
  // A dark edge keeps even a yellow area visible against the light background.
  const style = (hex) => ({ color: "#1b1f24", weight: 2, fillColor: hex, fillOpacity: 0.5 });
  const fit = () => {
    if (shown.getLayers().length) { map.fitBounds(shown.getBounds(), { animate: false, maxZoom: 13 }); }
  };
  function drawRings() {
    for (const area of areas) {
      for (const ring of area.rings) {
        L.polygon(ring.map(([lon, lat]) => [lat, lon]), style(area.hex)).bindTooltip(area.label).addTo(shown);
      }
    }
  }
  fetch("/ogcapi/collections/districts/items?limit=100", { headers: { Accept: "application/geo+json" } })
    .then((r) => (r.ok ? r.json() : null))
    .catch(() => null)
    .then((districts) => {
      if (districts) {
        L.geoJSON(districts, { style: { color: "#0b3d66", weight: 1, fill: false } }).addTo(map);
        for (const area of areas) { // the least severe first: the most severe is drawn on top
          const named = districts.features.filter((f) => area.codes.includes(String(f.id)));
          if (named.length) {
            L.geoJSON({ type: "FeatureCollection", features: named }, { style: style(area.hex) })
              .bindTooltip(area.label).addTo(shown);
          }
        }
      }
      drawRings();
      fit();
    });
})();
