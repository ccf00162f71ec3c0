// The rule form: only the fields the chosen kind uses are shown. Without scripts every field shows, its label
// naming the kinds that use it, and the server reads only the chosen kind's fields.
(function () {
  "use strict";
  const kind = document.getElementById("field-kind");
  if (!kind) { return; }
  function show() {
    for (const el of document.querySelectorAll("[data-kinds]")) {
      el.hidden = !el.dataset.kinds.split(" ").includes(kind.value);
    }
  }
  kind.addEventListener("change", show);
  show();
})();
