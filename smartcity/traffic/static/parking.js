// Parking guidance: a "use my location" button that fills the longitude and latitude of the "near a place"
// form from the browser's geolocation (the person then sends the form). Shown only where the browser can locate;
// without it, or without this script, the fields are typed in.
(function () {
  "use strict";
  const button = document.getElementById("use-location");
  const status = document.getElementById("locate-status");
  const lon = document.getElementById("field-lon");
  const lat = document.getElementById("field-lat");
  if (!button || !status || !lon || !lat || !navigator.geolocation) { return; }
  button.closest(".locate").hidden = false;
  button.addEventListener("click", () => {
    button.disabled = true;
    status.textContent = button.dataset.finding;
    navigator.geolocation.getCurrentPosition(
      (position) => {
        lon.value = position.coords.longitude.toFixed(6);
        lat.value = position.coords.latitude.toFixed(6);
        button.disabled = false;
        status.textContent = button.dataset.found;
      },
      () => {
        button.disabled = false;
        status.textContent = button.dataset.failed;
      },
      { enableHighAccuracy: false, timeout: 10000, maximumAge: 60000 },
    );
  });
})();
