// Mipui Aw filing form: "use my location" fills latitude and longitude from
// the device, and the description shows how many characters are left.
// Everything works without this file.
(function () {
  "use strict";
  var btn = document.querySelector("[data-locate]");
  var lat = document.getElementById("lat");
  var lng = document.getElementById("lng");
  var status = document.getElementById("locate-status");
  if (btn && lat && lng && "geolocation" in navigator) {
    btn.hidden = false;
    btn.addEventListener("click", function () {
      if (status) { status.textContent = btn.dataset.busy || ""; }
      navigator.geolocation.getCurrentPosition(function (pos) {
        lat.value = pos.coords.latitude.toFixed(5);
        lng.value = pos.coords.longitude.toFixed(5);
        if (status) { status.textContent = btn.dataset.done || ""; }
      }, function () {
        if (status) { status.textContent = btn.dataset.failed || ""; }
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }
  var desc = document.getElementById("description");
  var left = document.getElementById("description-left");
  if (desc && left) {
    var max = parseInt(desc.dataset.max, 10);
    var show = function () {
      var n = max - Array.from(desc.value).length;
      left.textContent = (left.dataset.template || "{n}").replace("{n}", String(n));
    };
    desc.addEventListener("input", show);
    show();
  }
})();
