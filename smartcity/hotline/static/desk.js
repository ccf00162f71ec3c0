// The operator's desk: search the knowledge base while the caller is still on the line, without leaving
// the half-filled order form. Without script, the search form opens the knowledge base page instead.
(function () {
  "use strict";
  const form = document.getElementById("kb-form");
  const results = document.getElementById("kb-results");
  if (!form || !results || !window.fetch) { return; }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const q = document.getElementById("kb-q").value.trim();
    if (!q) { return; }
    fetch("/api/hotline/knowledge?" + new URLSearchParams({ q: q, limit: "5" }), { credentials: "same-origin" })
      .then((r) => r.json().then((body) => ({ ok: r.ok, body: body })))
      .then(({ ok, body }) => {
        results.replaceChildren();
        if (!ok) { results.textContent = body.detail || ""; return; }
        if (body.length === 0) { results.textContent = results.dataset.empty || "—"; return; }
        for (const hit of body) {
          const article = document.createElement("article");
          article.className = "kb-article";
          const title = document.createElement("h3");
          title.textContent = hit.article.title;
          const text = document.createElement("p");
          text.textContent = hit.article.body;
          article.append(title, text);
          results.append(article);
        }
      });
  });
})();
