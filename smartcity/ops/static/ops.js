// The operations centre: the area's map with switchable layers (open cases, alarms, warnings, sensor stations,
// traffic levels, parking), drill-down by clicking a place, and live figures from the server's event stream —
// tiles, the lists and the layers that changed are refreshed without reloading, a polite live region says what
// changed, and a button pauses it all. Without this script the page still shows the figures, the lists and the
// drill-down links. No basemap tiles: a city's network may not reach a tile server.
(function () {
  "use strict";
  const el = document.getElementById("ops-map");
  const configNode = document.getElementById("ops-config");
  if (!el || !configNode) { return; }
  const config = JSON.parse(configNode.textContent);
  const words = config.words;
  const json = (url) => fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((r) => { if (!r.ok) { throw new Error(url + ": " + r.status); } return r.json(); });
  const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, name) => values[name]);
  const bboxParam = config.bbox ? "bbox=" + config.bbox.join(",") : "";
  const here = (url) => url + (config.bbox && config.level !== "city" ? (url.includes("?") ? "&" : "?") + bboxParam : "");

  // ------------------------------------------------------------ the live figures (no map needed)
  const announcer = document.getElementById("ops-announcer");
  const connection = document.getElementById("ops-connection");
  const pause = document.getElementById("ops-pause");
  const updated = document.querySelector(".ops-updated");
  let source = null;
  let paused = false;
  let reloadLayers = () => null; // the map's layers, once the map is there
  let resync = false; // after a pause or a dropped connection: reload everything with the next figures
  const EVERYTHING = ["cases", "alarms", "warnings", "tick"];

  function text(tag, content, className) {
    const node = document.createElement(tag);
    node.textContent = content;
    if (className) { node.className = className; }
    return node;
  }

  function figureContent(figure) {
    if (!figure.href) { return document.createTextNode(figure.text); }
    const link = text("a", figure.text);
    link.href = figure.href;
    return link;
  }

  function buildTile(tile) {
    const item = document.createElement("li");
    item.className = "ops-tile" + (tile.no_data ? " ops-tile-empty" : "");
    item.dataset.tile = tile.code;
    item.setAttribute("aria-labelledby", "tile-" + tile.code);
    const title = document.createElement("h3");
    title.className = "ops-tile-title";
    title.id = "tile-" + tile.code;
    const link = text("a", tile.title);
    link.href = tile.href;
    title.append(link);
    item.append(title);
    if (tile.figures.length) {
      const list = document.createElement("dl");
      list.className = "ops-figures";
      for (const figure of tile.figures) {
        const row = document.createElement("div");
        row.className = "ops-figure";
        const value = document.createElement("dd");
        value.dataset.figure = figure.key;
        value.append(figureContent(figure));
        row.append(text("dt", figure.label), value);
        list.append(row);
      }
      item.append(list);
    }
    const notes = text("p", tile.notes.join(" · "), "ops-tile-notes");
    notes.dataset.notes = "";
    item.append(notes);
    return item;
  }

  function swatch(item, colour) {
    const title = item.querySelector(".ops-tile-title");
    const old = title.querySelector("svg.ops-swatch");
    if (old) { old.remove(); }
    if (!colour) { return; }
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    for (const [name, value] of [["class", "ops-swatch"], ["width", "14"], ["height", "14"], ["viewBox", "0 0 14 14"],
      ["aria-hidden", "true"], ["focusable", "false"]]) { svg.setAttribute(name, value); }
    const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
    for (const [name, value] of [["x", "0.5"], ["y", "0.5"], ["width", "13"], ["height", "13"], ["rx", "2"],
      ["fill", colour], ["stroke", "#1b1f24"]]) { rect.setAttribute(name, value); }
    svg.append(rect);
    title.append(" ", svg);
  }

  function sameShape(item, tile) {
    const keys = [...item.querySelectorAll("[data-figure]")].map((n) => n.dataset.figure);
    return keys.join() === tile.figures.map((f) => f.key).join() &&
      item.classList.contains("ops-tile-empty") === tile.no_data;
  }

  function showTiles(tiles, changed) {
    const list = document.getElementById("ops-tiles");
    if (!list) { return; }
    const seen = new Set();
    let previous = null;
    for (const tile of tiles) {
      seen.add(tile.code);
      let item = list.querySelector(`[data-tile="${tile.code}"]`);
      if (!item || !sameShape(item, tile)) {
        const fresh = buildTile(tile);
        if (item) { item.replaceWith(fresh); } else if (previous) { previous.after(fresh); } else { list.prepend(fresh); }
        item = fresh;
      } else {
        for (const figure of tile.figures) {
          const value = item.querySelector(`[data-figure="${figure.key}"]`);
          if (value.textContent !== figure.text) { value.replaceChildren(figureContent(figure)); }
        }
        const notes = item.querySelector("[data-notes]");
        if (notes) { notes.textContent = tile.notes.join(" · "); }
      }
      swatch(item, tile.colour);
      item.classList.toggle("ops-changed", changed.includes(tile.code));
      previous = item;
    }
    for (const item of list.querySelectorAll("[data-tile]")) {
      if (!seen.has(item.dataset.tile)) { item.remove(); }
    }
  }

  function status(state) {
    if (connection) { connection.textContent = connection.dataset[state]; }
  }

  let lists = null;
  function refreshLists() {
    const panel = document.getElementById("ops-lists");
    if (!panel) { return; }
    const ticket = (lists = {});
    fetch(config.listsUrl, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.text() : null))
      .then((html) => { if (html !== null && ticket === lists) { panel.innerHTML = html; } })
      .catch(() => null);
  }

  function onFigures(event) {
    const data = JSON.parse(event.data);
    showTiles(data.tiles, data.changed);
    if (updated && connection) {
      const time = new Date(data.at).toLocaleTimeString(document.documentElement.lang,
        { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: config.timezone });
      updated.firstChild.textContent = fill(connection.dataset.time, { time: time }) + " ";
    }
    if (data.summary) { announcer.textContent = data.summary; }
    const changed = resync ? EVERYTHING : data.changed;
    resync = false;
    if (changed.some((c) => ["cases", "alarms", "warnings"].includes(c))) { refreshLists(); }
    reloadLayers(changed);
    window.opsFigures = (window.opsFigures || 0) + 1; // for the browser tests
  }

  function connect() {
    if (!window.EventSource) { return; }
    source = new EventSource(config.eventsUrl);
    source.addEventListener("figures", onFigures);
    source.addEventListener("open", () => status("live"));
    source.addEventListener("error", () => { resync = true; if (!paused) { status("lost"); } });
  }

  if (pause) {
    pause.hidden = false;
    pause.addEventListener("click", () => {
      paused = !paused;
      pause.setAttribute("aria-pressed", String(paused));
      if (paused) {
        if (source) { source.close(); source = null; }
        status("paused");
      } else {
        resync = true; // what changed while paused is not in the next event's list
        connect();
      }
    });
  }

  // ------------------------------------------------------------ the map
  if (!window.L) { connect(); return; }
  const map = L.map(el, { keyboard: true, preferCanvas: false });
  window.opsMap = map; // for the browser tests
  if (config.bbox) {
    const [w, s, e, n] = config.bbox;
    map.fitBounds([[s, w], [n, e]], { animate: false, padding: [10, 10] });
  } else {
    map.setView([31.2, 121.45], 9);
  }
  const outline = { color: "#0b3d66", weight: 1, fillOpacity: 0.03 };
  const chosenOutline = { color: "#0b3d66", weight: 3, fill: false };
  const area = (hex) => ({ color: "#1b1f24", weight: 2, fillColor: hex, fillOpacity: 0.3 });
  const drillStatus = document.getElementById("ops-announcer");
  let districts = null;

  function drillTo(code) { window.location.assign(config.base + "?area=" + encodeURIComponent(code)); }

  function clickable(feature, layer) {
    const name = document.documentElement.lang === "zh-CN" ? feature.properties.name
      : (feature.properties.name_en || feature.properties.name);
    layer.bindTooltip(fill(words.drill, { name: name }));
    layer.on("click", () => drillTo(feature.id));
  }

  const base = [json("/ogcapi/collections/districts/items?limit=100").then((data) => {
    districts = data;
    const interactive = config.level === "city";
    L.geoJSON(data, { style: outline, interactive: interactive, onEachFeature: interactive ? clickable : undefined })
      .addTo(map).bringToBack();
  }).catch(() => null)];
  if (config.level === "district") {
    base.push(json("/ogcapi/collections/streets/items?limit=1000&parent_code=" + config.area).then((data) => {
      L.geoJSON(data, { style: { color: "#17623a", weight: 1, fillOpacity: 0.04 }, onEachFeature: clickable }).addTo(map);
    }).catch(() => null));
  }
  if (config.level !== "city") {
    const collection = { district: "districts", street: "streets", community: "communities", grid: "unit-grids" }[config.level];
    base.push(json("/ogcapi/collections/" + collection + "/items/" + config.area).then((data) => {
      L.geoJSON(data, { style: chosenOutline, interactive: false }).addTo(map);
    }).catch(() => null));
  }
  if (config.level === "street" || config.level === "community") {
    map.on("click", (event) => {
      const query = new URLSearchParams({ area: config.area, lon: event.latlng.lng, lat: event.latlng.lat });
      fetch("/api/ops/locate?" + query, { credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : Promise.reject(r)))
        .then((found) => drillTo(found.code))
        .catch(() => { drillStatus.textContent = words.nothingBelow; });
    });
  }

  // Each layer: a group on the map, a loader, and its count said in the legend beside the map.
  const groups = {};
  const overlays = {};
  for (const [code, allowed] of config.layers) { // in the server's order
    if (!allowed) { continue; }
    groups[code] = L.featureGroup().addTo(map);
    overlays[config.labels[code]] = groups[code];
  }
  L.control.layers(null, overlays, { collapsed: false }).addTo(map);

  function say(code, count) {
    const item = document.querySelector(`#ops-layer-counts [data-layer="${code}"]`);
    if (item) { item.textContent = count === null ? fill(words.failed, { layer: config.labels[code] }) : fill(words.count, { layer: config.labels[code], num: count }); }
  }

  function popup(title, href, lines) {
    const box = document.createElement("div");
    const head = href ? text("a", title) : text("strong", title);
    if (href) { head.href = href; }
    box.append(head);
    for (const line of lines) { box.append(text("div", line)); }
    return box;
  }

  const inside = ([lon, lat]) => !config.bbox || config.level === "city" ||
    (lon >= config.bbox[0] && lon <= config.bbox[2] && lat >= config.bbox[1] && lat <= config.bbox[3]);

  const loaders = {
    cases: () => json("/api/ops/cases?area=" + config.area).then((data) => (group) => {
      for (const f of data.features) {
        const [lon, lat] = f.geometry.coordinates;
        const p = f.properties;
        const lines = [config.states[p.state] || p.state];
        if (p.overdue) { lines.push(words.overdue); }
        L.circleMarker([lat, lon], {
          radius: 7, color: p.overdue ? "#a4161a" : "#1b1f24", weight: p.overdue ? 4 : 1, fillColor: p.colour, fillOpacity: 0.9,
          className: "ops-case" + (p.overdue ? " ops-overdue" : ""),
        }).bindPopup(popup(words.open + " " + p.number, "/cases/" + encodeURIComponent(p.number), lines)).addTo(group);
      }
      return data.features.length;
    }),
    alarms: () => json("/api/ops/alarms?area=" + config.area).then((data) => (group) => {
      for (const f of data.features) {
        const [lon, lat] = f.geometry.coordinates;
        const p = f.properties;
        L.circleMarker([lat, lon], { radius: 11, color: "#1b1f24", weight: 3, dashArray: p.acknowledged ? null : "3 3", fillColor: p.colour, fillOpacity: 0.85, className: "ops-alarm" })
          .bindPopup(popup(p.title, p.href, [p.acknowledged ? words.acknowledged : words.unacknowledged])).addTo(group);
      }
      return data.features.length;
    }),
    warnings: () => Promise.all([base[0], json("/alerts/warnings/active.json")]).then(([, active]) => (group) => {
      let shown = 0;
      for (const warning of active.slice().reverse()) { // the most recent drawn on top
        const named = districts ? districts.features.filter((f) => warning.areas.includes(String(f.id))) : [];
        if (named.length) {
          L.geoJSON({ type: "FeatureCollection", features: named }, { style: area(warning.hex), className: "ops-warning" }).bindTooltip(warning.headline).addTo(group);
        }
        for (const ring of warning.polygons) {
          L.polygon(ring.map(([lon, lat]) => [lat, lon]), { ...area(warning.hex), className: "ops-warning" }).bindTooltip(warning.headline).addTo(group);
        }
        shown += 1;
      }
      group.bringToBack();
      return shown;
    }),
    stations: () => json(here("/api/sensing/stations")).then((data) => (group) => {
      const colours = { fresh: "#17623a", late: "#8a5a00", stale: "#a4161a", none: "#4a5561" };
      let shown = 0;
      for (const f of data.features) {
        const [lon, lat] = f.geometry.coordinates;
        if (lon === null || lat === null) { continue; }
        const p = f.properties;
        const lines = [words[p.freshness] || p.freshness].concat(p.readings.slice(0, 4).map((r) => r.name + ": " + (r.value === null ? "—" : r.value) + " " + r.unit));
        L.circleMarker([lat, lon], { radius: 6, color: colours[p.freshness], weight: 2, fillOpacity: 0.6, className: "ops-station" })
          .bindPopup(popup(p.name, "/sensing/stations/" + f.id, lines)).addTo(group);
        shown += 1;
      }
      return shown;
    }),
    traffic: () => json(here("/api/traffic/segments")).then((data) => (group) => {
      for (const f of data.features) {
        if (!f.geometry || f.geometry.type !== "LineString") { continue; }
        const line = f.geometry.coordinates.map(([lon, lat]) => [lat, lon]);
        L.polyline(line, { color: f.properties.colour || "#8a939c", weight: 3, opacity: 0.9, dashArray: f.properties.level ? null : "4 6", interactive: false, className: "ops-segment" }).addTo(group);
      }
      return data.features.length;
    }).catch((error) => { if (String(error).endsWith(": 404")) { return () => 0; } throw error; }),
    parking: () => json("/api/traffic/parking").then((data) => (group) => {
      let shown = 0;
      for (const park of data) {
        const point = park.location.coordinates;
        if (!inside(point)) { continue; }
        const name = document.documentElement.lang === "zh-CN" ? park.name : (park.name_en || park.name);
        const free = park.free === null ? words.noData : park.free + " " + words.free;
        L.circleMarker([point[1], point[0]], { radius: 5, color: "#0b3d66", weight: 2, fillColor: "#ffffff", fillOpacity: 1, className: "ops-parking" })
          .bindPopup(popup(name, null, [free])).addTo(group);
        shown += 1;
      }
      return shown;
    }),
  };

  const asked = {};
  function load(code) {
    const ticket = (asked[code] = (asked[code] || 0) + 1);
    return loaders[code]()
      .then((draw) => {
        if (ticket !== asked[code]) { return; }
        groups[code].clearLayers();
        say(code, draw(groups[code]));
      })
      .catch(() => { if (ticket === asked[code]) { say(code, null); } });
  }

  const REFRESH = { cases: ["cases"], alarms: ["alarms"], warnings: ["warnings"], traffic: ["traffic"],
    tick: ["stations", "parking", "traffic", "alarms"] };
  reloadLayers = (changed) => {
    const wanted = new Set(changed.flatMap((c) => REFRESH[c] || []));
    for (const code of wanted) { if (groups[code]) { load(code); } }
  };

  Promise.allSettled([...base, ...Object.keys(groups).map(load)]).then(() => {
    window.opsReady = true; // every layer has loaded (or said that it failed): the bench and tests wait for this
    el.dataset.ready = "true";
    if (window.performance && performance.mark) { performance.mark("ops-map-complete"); }
  });
  connect();
})();
