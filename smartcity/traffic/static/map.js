// The traffic map: the road segments of a cycle as lines in their level's colour (a dark edge keeps the light
// colours visible), a slider over the day's cycles with previous/next buttons, and the cycle's tables fetched
// from the server so they say in words what the colours show. Without this script the page still shows the
// newest cycle's tables and links to the other cycles. No basemap tiles: a city's network may not reach one.
(function () {
  "use strict";
  const el = document.getElementById("traffic-map");
  const listing = document.getElementById("traffic-cycles");
  if (!el || !window.L || !listing) { return; }
  const cycles = JSON.parse(listing.textContent);
  if (!cycles.length) { return; }
  const controls = document.getElementById("cycle-controls");
  const slider = document.getElementById("cycle-slider");
  const shown = document.getElementById("cycle-shown");
  const status = document.getElementById("cycle-status");
  const previous = document.getElementById("cycle-previous");
  const next = document.getElementById("cycle-next");
  const state = document.getElementById("traffic-state");
  const scheme = el.dataset.scheme;
  const NO_DATA = "#8a939c";
  const EDGE = "#1b1f24";

  const map = L.map(el, { keyboard: true }).setView([31.23, 121.47], 12);
  window.trafficMap = map; // for the browser tests
  const districts = L.featureGroup().addTo(map);
  const segments = L.featureGroup().addTo(map);
  let fitted = false;
  let asked = 0; // the newest request wins when the slider moves quickly

  fetch("/ogcapi/collections/districts/items?limit=100", { headers: { Accept: "application/geo+json" } })
    .then((r) => (r.ok ? r.json() : null))
    .then((data) => {
      if (data) {
        L.geoJSON(data, { interactive: false, style: { color: "#0b3d66", weight: 1, fillOpacity: 0.03 } }).addTo(districts);
        districts.bringToBack();
      }
    })
    .catch(() => null);

  function tooltip(feature) {
    const p = feature.properties;
    const speed = p.speed_kmh === null ? el.dataset.noData : Math.round(p.speed_kmh) + " km/h";
    return (p.name || feature.id) + " · " + (p.level_label || el.dataset.noData) + " · " + speed;
  }

  function draw(collection, labels) {
    segments.clearLayers();
    for (const feature of collection.features) {
      if (!feature.geometry || feature.geometry.type !== "LineString") { continue; }
      const line = feature.geometry.coordinates.map(([lon, lat]) => [lat, lon]);
      const level = feature.properties.level;
      feature.properties.level_label = level ? labels[level] : null;
      L.polyline(line, { color: EDGE, weight: 8, opacity: 0.9, interactive: false, className: "traffic-edge" })
        .addTo(segments);
      L.polyline(line, {
        color: feature.properties.colour || NO_DATA, weight: 5, opacity: 1,
        dashArray: level ? null : "4 6", className: "traffic-segment",
      }).bindTooltip(tooltip(feature)).addTo(segments);
    }
    if (!fitted && segments.getLayers().length) {
      map.fitBounds(segments.getBounds(), { padding: [20, 20] });
      fitted = true;
    }
  }

  // Level words in the page's language, read from the legend the server wrote.
  const labels = {};
  document.querySelectorAll(".traffic-legend [data-level]").forEach((item) => {
    labels[item.dataset.level] = item.dataset.label;
  });

  function say(i) {
    const label = cycles[i].label;
    slider.setAttribute("aria-valuetext", label);
    shown.textContent = label;
    previous.disabled = i === 0;
    next.disabled = i === cycles.length - 1;
  }

  async function load(i) {
    const ticket = ++asked;
    const at = cycles[i].at;
    const query = new URLSearchParams({ at: at, scheme: scheme });
    state.setAttribute("aria-busy", "true");
    try {
      const [geo, html] = await Promise.all([
        fetch(el.dataset.segmentsUrl + "?" + new URLSearchParams({ at: at }), { headers: { Accept: "application/json" } })
          .then((r) => { if (!r.ok) { throw new Error(r.status); } return r.json(); }),
        fetch(el.dataset.stateUrl + "?" + query, { credentials: "same-origin" })
          .then((r) => { if (!r.ok) { throw new Error(r.status); } return r.text(); }),
      ]);
      if (ticket !== asked) { return; }
      draw(geo, labels);
      state.innerHTML = html;
      status.textContent = status.dataset.template.replace("{time}", cycles[i].label);
      history.replaceState(null, "", location.pathname + "?" + query);
    } catch (error) {
      if (ticket === asked) { status.textContent = status.dataset.failed; }
    } finally {
      if (ticket === asked) { state.removeAttribute("aria-busy"); }
    }
  }

  let waiting = null;
  function choose(i, now) {
    const clamped = Math.max(0, Math.min(cycles.length - 1, i));
    slider.value = String(clamped);
    say(clamped);
    clearTimeout(waiting);
    if (now) { load(clamped); } else { waiting = setTimeout(() => load(clamped), 250); }
  }

  slider.addEventListener("input", () => choose(Number(slider.value), false));
  slider.addEventListener("change", () => choose(Number(slider.value), true));
  previous.addEventListener("click", () => choose(Number(slider.value) - 1, true));
  next.addEventListener("click", () => choose(Number(slider.value) + 1, true));

  controls.hidden = false;
  state.dataset.enhanced = "true";
  say(Number(slider.value));
  fetch(el.dataset.segmentsUrl + "?" + new URLSearchParams({ at: cycles[Number(slider.value)].at }),
    { headers: { Accept: "application/json" } })
    .then((r) => (r.ok ? r.json() : null))
    .then((geo) => { if (geo) { draw(geo, labels); } })
    .catch(() => null);
})();
