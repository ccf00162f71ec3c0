// Picking a report's location on the map: a click fills the longitude and latitude fields (which stay the
// accessible way to enter it). No basemap tiles; district outlines come from the map service.
(function () {
  "use strict";
  const el = document.getElementById("pick-map");
  if (!el || !window.L) { return; }
  const lon = document.getElementById("lon");
  const lat = document.getElementById("lat");
  const map = L.map(el, { keyboard: true }).setView([31.23, 121.47], 12);
  window.pickMap = map;
  let marker = null;
  fetch("/ogcapi/collections/districts/items?limit=100").then((r) => r.ok ? r.json() : null).then((data) => {
    if (data) { L.geoJSON(data, { style: { color: "#0b3d66", weight: 2, fillOpacity: 0.04 } }).addTo(map); }
  });
  map.on("click", (event) => {
    lon.value = event.latlng.lng.toFixed(6);
    lat.value = event.latlng.lat.toFixed(6);
    if (marker) { marker.setLatLng(event.latlng); } else { marker = L.marker(event.latlng).addTo(map); }
  });
})();
