// A stop's departure board, kept up to date: every few seconds (the table's data-every-s, 30) the departures are
// fetched from the open-data API and the table's body replaced; the status line (aria-live="polite") says when,
// so a screen reader hears one short sentence, not the whole table. A toggle button pauses and resumes the
// updates (WCAG 2.2.2). Words come from the page (its language); without this script the page shows the
// departures as served.
(function () {
  "use strict";
  const table = document.getElementById("departures-table");
  const status = document.getElementById("board-status");
  const button = document.getElementById("board-pause");
  if (!table || !status || !button || !window.fetch) { return; }
  const words = table.dataset;
  const every = Math.max(5, Number(words.everyS) || 30) * 1000;
  const options = { timeZone: words.tz || "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  const clock = new Intl.DateTimeFormat("en-GB", options);
  const clockSeconds = new Intl.DateTimeFormat("en-GB", Object.assign({ second: "2-digit" }, options));
  const NONE = "—";
  let timer = null;
  let asked = 0; // a reply to an earlier request, or one that arrives after pausing, is dropped

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? values[name] : whole));
  }

  // As the server says it: less than a whole minute either way is on time; no prediction is never "on time".
  function statusOf(departure) {
    if (!departure.realtime || departure.delay_s === null) { return words.scheduledOnly; }
    const minutes = Math.trunc(departure.delay_s / 60);
    if (minutes === 0) { return words.onTime; }
    return fill(minutes > 0 ? words.late : words.early, { minutes: Math.abs(minutes) });
  }

  function cell(tag, text) {
    const element = document.createElement(tag);
    element.textContent = text;
    return element;
  }

  function row(departure) {
    const tr = document.createElement("tr");
    const route = cell("th", departure.route);
    route.scope = "row";
    const state = cell("td", statusOf(departure));
    state.className = departure.realtime ? "realtime" : "scheduled-only";
    tr.append(
      route,
      cell("td", departure.headsign || NONE),
      cell("td", clock.format(new Date(departure.scheduled))),
      cell("td", departure.predicted ? clock.format(new Date(departure.predicted)) : NONE),
      state,
    );
    return tr;
  }

  function show(departures) {
    const body = document.createElement("tbody");
    if (!departures.length) {
      const empty = cell("td", words.empty);
      empty.colSpan = 5;
      const tr = document.createElement("tr");
      tr.append(empty);
      body.append(tr);
    }
    departures.forEach((departure) => body.append(row(departure)));
    table.tBodies[0].replaceWith(body);
  }

  async function update() {
    const ticket = ++asked;
    const now = { time: clockSeconds.format(new Date()) };
    try {
      const response = await fetch(words.url, { headers: { Accept: "application/json" } });
      if (!response.ok) { throw new Error(String(response.status)); }
      const data = await response.json();
      if (ticket !== asked) { return; }
      show(data.departures);
      status.textContent = fill(words.updated, now);
    } catch (error) {
      if (ticket === asked) { status.textContent = fill(words.failed, now); }
    }
  }

  function start() {
    if (timer === null) { timer = window.setInterval(update, every); }
  }

  function stop() {
    window.clearInterval(timer);
    timer = null;
    asked += 1;
  }

  button.addEventListener("click", () => {
    const pausing = button.getAttribute("aria-pressed") !== "true";
    button.setAttribute("aria-pressed", String(pausing));
    if (pausing) {
      stop();
      status.textContent = words.paused;
    } else {
      status.textContent = words.resumed;
      update();
      start();
    }
  });
  button.hidden = false;
  table.dataset.live = "on"; // for the browser tests: the script has started
  start();
})();
